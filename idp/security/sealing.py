"""Sealing: secrets the server must read back later, encrypted at rest.

A TOTP secret cannot be stored as a hash (the server computes codes from it),
so it is sealed with Fernet (AES-128-CBC + HMAC-SHA256, authenticated). The
Fernet key is derived from ``server.secret_key`` with HKDF-SHA256 (RFC 5869)
and a label per purpose, so the same server secret yields unrelated keys for
unrelated uses, and the key never appears in configuration on its own.

Consequence for operators: rotating ``server.secret_key`` makes every sealed
value unreadable; officers' TOTP must then be enrolled again
(``idp officers reset-totp``), and citizens sign in with a recovery code and
enrol Ügyfélkapu+ again. SECURITY.md says so.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

#: The HKDF ``info`` of officers' TOTP secrets; a new purpose takes a new label.
TOTP_LABEL = "idp/officer-totp-secret/v1"
#: The HKDF ``info`` of citizens' Ügyfélkapu+ TOTP secrets.
CITIZEN_TOTP_LABEL = "idp/citizen-totp-secret/v1"
#: The HKDF ``info`` of the key under which emailed Ügyfélkapu+ codes are digested (HMAC, not sealed).
EMAIL_CODE_LABEL = "idp/email-code-digest/v1"
#: The HKDF ``info`` of the key that seals electronic registration documents (HMAC, not sealed):
#: no field of a document can change between its issue and its upload.
REGISTRATION_DOCUMENT_LABEL = "idp/registration-document-seal/v1"


class SealError(Exception):
    reason = "sealed_value_unreadable"


def derive_key(secret: str, label: str) -> bytes:
    """A 32-byte Fernet key for ``label``, derived from the server secret."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label.encode("utf-8")).derive(
        secret.encode("utf-8")
    )
    return base64.urlsafe_b64encode(raw)


class Sealer:
    """Seals and unseals short text values for one purpose."""

    def __init__(self, secret: str, label: str = TOTP_LABEL):
        if len(secret) < 32:
            raise ValueError("the sealing secret must be at least 32 characters")
        self._fernet = Fernet(derive_key(secret, label))

    def seal(self, value: str) -> str:
        return self._fernet.encrypt(value.encode("utf-8")).decode("ascii")

    def unseal(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode("utf-8")
        except (InvalidToken, ValueError, UnicodeError) as exc:
            raise SealError("sealed value cannot be read (was server.secret_key rotated?)") from exc

    def __repr__(self) -> str:
        return "<Sealer>"
