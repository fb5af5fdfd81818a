"""The registration document a citizen signs electronically (PRODUCT.md rules 1 and 4).

The provider writes the citizen's data (rule 3), the identity document and the
data-provision statement's version into one UTF-8 text the citizen reads,
signs with their own tool (a detached CMS signature, see ``esign``) and uploads
back with the signature. The signature is checked over the exact uploaded
bytes; the data are then read back from those bytes, never from a form beside
them, so what is registered is what was signed.

Plain ``key: value`` lines in a fixed order: readable in any viewer a signing
tool shows, and parsed strictly (every key once, nothing else).

**Sealed by the provider.** The last line, ``seal: …``, is an HMAC-SHA256 over
every byte before it, under a key derived from ``server.secret_key`` for this
purpose alone (``idp.security.sealing.REGISTRATION_DOCUMENT_LABEL``). The citizen's
signature proves who signed, not that the provider wrote what was signed: without
the seal, a citizen could edit any field, ``created_at`` included, and sign that.
With it, no field can change after issue, so ``created_at`` is the provider's own
word on when the document was made, and its age can be limited. Nothing is kept
on the server: any instance that knows the secret checks the seal (rotating the
secret voids documents not yet uploaded; the citizen downloads a new one).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime

from idp.security.secrets import KeyedDigest

from .errors import AccountError
from .personal import Registration
from .registration import DocumentShown

FORMAT = "idp-registration/2"  # /1 had no seal
MAX_BYTES = 16 * 1024
HEADER = (
    "Ügyfélkapu regisztráció – elektronikus aláírással",
    "Ügyfélkapu registration – signed electronically",
)
STATEMENT_LINE = (
    "Aláírásommal megteszem az Adatszolgáltatási nyilatkozatot a megjelölt változatban, "
    "és kérem Ügyfélkapum létrehozását a fenti adatokkal."
)
_REGISTRATION_KEYS = tuple(f.name for f in fields(Registration))
_DOCUMENT_KEYS = ("document_type", "document_number", "document_issued_on", "document_expires_on")
KEYS = ("format", "statement_version", "created_at", *_REGISTRATION_KEYS, *_DOCUMENT_KEYS)
SEAL_PREFIX = "seal: "


@dataclass(frozen=True)
class SignedRegistration:
    registration: Registration
    document: DocumentShown
    statement_version: str
    created_at: datetime

    def __repr__(self) -> str:
        return f"<SignedRegistration {self.statement_version}>"


def render(
    registration: Registration,
    document: DocumentShown,
    statement_version: str,
    created_at: datetime,
    seal: KeyedDigest,
) -> bytes:
    """The bytes the citizen signs, sealed. ``registration`` must already be checked (no line breaks)."""
    values = {
        "format": FORMAT,
        "statement_version": statement_version,
        "created_at": created_at.isoformat(),
        **{k: v.isoformat() if isinstance(v, date) else str(v) for k, v in registration.values().items()},
        "document_type": document.doc_type,
        "document_number": document.number,
        "document_issued_on": document.issued_on.isoformat(),
        "document_expires_on": document.expires_on.isoformat() if document.expires_on else "",
    }
    for value in values.values():
        if "\n" in value or "\r" in value:
            raise ValueError("a value spans lines")
    lines = [*HEADER, "", *(f"{key}: {values[key]}" for key in KEYS), "", STATEMENT_LINE, ""]
    body = "\n".join(lines)
    return f"{body}\n{SEAL_PREFIX}{seal(body)}\n".encode()


def open_sealed(data: bytes, seal: KeyedDigest) -> SignedRegistration:
    """Check the seal of an uploaded registration document, then read it back.

    ``registration_document_invalid`` when it is not a sealed registration document,
    ``registration_document_modified`` when any byte before the seal changed since
    the provider issued it. Line ends may have become CRLF on the citizen's computer
    (the seal is over the text with LF, as issued); the signature is still checked
    over the bytes as uploaded.
    """
    if not isinstance(data, bytes | bytearray) or not data or len(data) > MAX_BYTES:
        raise AccountError("registration_document_invalid")
    try:
        text = bytes(data).decode("utf-8").replace("\r\n", "\n")
    except UnicodeDecodeError:
        raise AccountError("registration_document_invalid") from None
    body, sep, last = text.removesuffix("\n").rpartition("\n")
    if not sep or not last.startswith(SEAL_PREFIX):
        raise AccountError("registration_document_invalid")
    if not seal.matches(body, last.removeprefix(SEAL_PREFIX)):
        raise AccountError("registration_document_modified")
    return _parse(body)


def _parse(text: str) -> SignedRegistration:
    """Read the sealed text back; ``registration_document_invalid`` when it is not a registration."""
    lines = text.split("\n")
    found: dict[str, str] = {}
    for line in lines:
        if not line or line in HEADER or line == STATEMENT_LINE:
            continue
        key, sep, value = line.partition(": ")
        if not sep:
            key, value = line.removesuffix(":"), ""
        if key not in KEYS or key in found:
            raise AccountError("registration_document_invalid")
        found[key] = value
    if set(found) != set(KEYS) or found["format"] != FORMAT or STATEMENT_LINE not in lines:
        raise AccountError("registration_document_invalid")
    try:
        created_at = datetime.fromisoformat(found["created_at"])
        birth_date = date.fromisoformat(found["birth_date"])
        issued_on = date.fromisoformat(found["document_issued_on"])
        expires_on = date.fromisoformat(found["document_expires_on"]) if found["document_expires_on"] else None
    except ValueError:
        raise AccountError("registration_document_invalid") from None
    if created_at.tzinfo is None:
        raise AccountError("registration_document_invalid")
    values: dict[str, object] = {k: found[k] for k in _REGISTRATION_KEYS}
    values["birth_date"] = birth_date
    return SignedRegistration(
        registration=Registration(**values),
        document=DocumentShown(found["document_type"], found["document_number"], issued_on, expires_on),
        statement_version=found["statement_version"],
        created_at=created_at,
    )
