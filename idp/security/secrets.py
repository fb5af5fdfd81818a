"""Random secrets and how they are kept: only a SHA-256 digest is stored.

Codes, tokens, session ids and client secrets carry 256 bits from ``secrets``;
for such values a fast digest is enough (no dictionary to attack), and a lookup
by digest never compares secrets byte by byte in Python. Where a secret must be
compared directly, ``equal`` is constant-time (ASVS V11.2.4 / V6.4).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets as _secrets


def new_secret(nbytes: int = 32) -> str:
    return _secrets.token_urlsafe(nbytes)


def digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def matches_digest(value: str, stored_digest: str | None) -> bool:
    if not stored_digest:
        return False
    return hmac.compare_digest(digest(value), stored_digest)
