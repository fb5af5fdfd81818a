"""Random secrets and how they are kept: only a SHA-256 digest is stored.

Codes, tokens, session ids and client secrets carry 256 bits from ``secrets``;
for such values a fast digest is enough (no dictionary to attack), and a lookup
by digest never compares secrets byte by byte in Python. Where a secret must be
compared directly, ``equal`` is constant-time (ASVS V11.2.4 / V6.4).

A short code (six digits) is another matter: its plain digest is reversed by
trying every value. ``KeyedDigest`` stores it as HMAC-SHA256 under a key that
lives only in the server's memory (derived from ``server.secret_key``), so a
copy of the table alone reveals nothing.
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


class KeyedDigest:
    """HMAC-SHA256 under a server-side key, for short codes kept in the database."""

    def __init__(self, key: bytes):
        if len(key) < 32:
            raise ValueError("the digest key must be at least 32 bytes")
        self._key = key

    def __call__(self, value: str) -> str:
        return hmac.new(self._key, value.encode("utf-8"), hashlib.sha256).hexdigest()

    def matches(self, value: str, stored_digest: str | None) -> bool:
        if not stored_digest:
            return False
        return hmac.compare_digest(self(value), stored_digest)

    def __repr__(self) -> str:
        return "<KeyedDigest>"
