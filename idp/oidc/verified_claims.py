"""``verified_claims``: how the citizen's identity was verified (OpenID Connect for Identity
Assurance 1.0, §5 and §8; OpenID Identity Assurance Schema Definition 1.0, §5).

Two verifications exist (PRODUCT.md rules 1 and 2):

* at an office, an officer inspected an identity document and compared it with the
  person ("személyesen bármely okmányirodában"): evidence ``document`` with the
  predefined check methods ``vpip`` (physical inspection of the document in person)
  and ``pvp`` (the person compared with the document in person), the document's
  type mapped to the predefined document types and its expiry; **never its number**
  (PRODUCT.md lists what agencies receive, and the number is not among it);
* electronically, with a signature over the registration that chains to a CA the
  operator trusts ("digitális aláírással ... okmányiroda felkeresése nélkül"):
  evidence ``electronic_signature``. The check establishes an advanced signature
  (integrity, a signing certificate from a trusted CA naming the citizen), not a
  qualified one: the qualified status of the certificate and the signing device
  is not checked, so ``signature_type`` is ``aes``, never ``qes``.

What a verification covers differs: the office checks the names, birth names,
place and date of birth against the document; the signature proves only the
name in the certificate. ``claims`` holds the covered claims among those already
released to the client, so ``verified_claims`` never carries a claim the client
could not receive on its own (IDA §5.3: claims not requested are not returned).

The trust framework is not a registered one: ``eidas`` would claim a notified
eIDAS scheme, which this provider is not. Following the schema's rule for values
outside the predefined list (§14, "Predefined values": include a domain under the
definer's control), the value is namespaced under the provider's domain, like
the mother's birth name claim.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from idp.accounts.models import Account
from idp.accounts.registration import E_SIGNATURE, IN_PERSON

TRUST_FRAMEWORK = "https://ugyfelkapu.gov.hu/trust_framework/ugyfelkapu"
EVIDENCE_DOCUMENT = "document"
EVIDENCE_SIGNATURE = "electronic_signature"
#: Our document types (idp.accounts.documents) as the IDA predefined document types.
DOCUMENT_TYPES = {"identity_card": "idcard", "passport": "passport", "driving_licence": "driving_permit"}
IN_PERSON_CHECKS = ("vpip", "pvp")
SIGNATURE_TYPE = "aes"
#: Every document accepted (rule 2) is a Hungarian one (ICAO 3-letter code).
DOCUMENT_ISSUER = {"country_code": "HUN"}

#: Which released claims each verification covers.
COVERED = {
    IN_PERSON: ("family_name", "given_name", "birthdate", "place_of_birth", "birth_family_name", "birth_given_name"),
    E_SIGNATURE: ("family_name", "given_name"),
}
CLAIMS_IN_VERIFIED_CLAIMS = tuple(dict.fromkeys(c for claims in COVERED.values() for c in claims))


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _day(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _document_evidence(account: Account) -> dict | None:
    doc_type = DOCUMENT_TYPES.get(account.document_type or "")
    if doc_type is None:
        return None
    checked = _time(account.verified_at)
    details = {"type": doc_type, "issuer": dict(DOCUMENT_ISSUER)}
    if account.document_expires_on:
        details["date_of_expiry"] = _day(account.document_expires_on)
    return {
        "type": EVIDENCE_DOCUMENT,
        "check_details": [{"check_method": method, "time": checked} for method in IN_PERSON_CHECKS],
        "document_details": details,
    }


def _signature_evidence(account: Account) -> dict | None:
    if not (account.signature_certificate_issuer and account.signature_certificate_serial):
        return None
    evidence = {
        "type": EVIDENCE_SIGNATURE,
        "signature_type": SIGNATURE_TYPE,
        "issuer": account.signature_certificate_issuer,
        "serial_number": account.signature_certificate_serial,
    }
    if account.statement_signed_at:
        evidence["created_at"] = _time(account.statement_signed_at)
    return evidence


EVIDENCE = {IN_PERSON: _document_evidence, E_SIGNATURE: _signature_evidence}


def verified_claims(account: Account, released: dict) -> dict | None:
    """The ``verified_claims`` container for ``released`` (the claims this client receives), or None
    when the identity was not verified, its record was erased, or no released claim is covered."""
    method = account.verification_method
    if account.verified_at is None or method not in COVERED:
        return None
    claims = {name: released[name] for name in COVERED[method] if name in released}
    evidence = EVIDENCE[method](account)
    if not claims or evidence is None:
        return None
    return {
        "verification": {"trust_framework": TRUST_FRAMEWORK, "time": _time(account.verified_at), "evidence": [evidence]},
        "claims": claims,
    }


def metadata() -> dict:
    """What discovery states about verified claims (IDA §8)."""
    return {
        "verified_claims_supported": True,
        "trust_frameworks_supported": [TRUST_FRAMEWORK],
        "evidence_supported": [EVIDENCE_DOCUMENT, EVIDENCE_SIGNATURE],
        "documents_supported": sorted(set(DOCUMENT_TYPES.values())),
        "documents_check_methods_supported": list(IN_PERSON_CHECKS),
        "claims_in_verified_claims_supported": list(CLAIMS_IN_VERIFIED_CLAIMS),
    }
