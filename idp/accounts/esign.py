"""Electronic registration: verifying the citizen's signature over the registration
(PRODUCT.md rule 1, third channel).

"Amennyiben rendelkezik digitális aláírással ... okmányiroda felkeresése nélkül is
regisztrálhat": a citizen holding a digital signature registers with no office
visit. The registration is signed with the citizen's X.509 signing certificate,
which must chain to a CA the operator trusts (``keys/trusted-ca/``), be valid when
the signature was made, carry a signing key usage, and name the registered person.

Format: a **detached CMS signature** (RFC 5652 SignedData, "PKCS#7", a ``.p7s``
file), DER or PEM, over the exact bytes of the registration document. It is what
tools produce when they sign an arbitrary file: ``openssl cms -sign -binary
-outform DER`` (or ``openssl smime``), ``gpgsm --detach-sign``, the S/MIME stacks
of mail clients, and the EU's CAdES tools: CAdES-BES/-T (ETSI EN 319 122) is a
profile of this same structure, and the Hungarian e-Szignó program (Microsec) can
sign a file as detached CAdES. PAdES (a signed PDF) or XAdES would tie the
registration to one document format; a detached signature leaves the registration
bytes exactly as the provider produced them and is checked against those alone.

Library, not hand-written cryptography: pyHanko parses the CMS structure, checks
the digest of the content and the signature over the signed attributes, and its
certificate validator builds and validates the path to the configured anchors at
the signing time. This module adds only policy: which moment counts, the key
usage, and the name. Revocation is not checked: no CRL or OCSP responder is
reachable from the provider; a deployment that needs it passes CRLs to the
validation context.

The signing time is the signed ``signingTime`` attribute when present, else
``now``. The attribute is the signer's own claim, so it is bounded: not in the
future, and (when the caller says when it produced the registration document)
not before the document existed.
"""

from __future__ import annotations

import asyncio
import hashlib
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from asn1crypto import cms as asn1_cms
from asn1crypto import pem as asn1_pem
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.x509.oid import NameOID
from pyhanko.sign.ades.report import AdESIndeterminate
from pyhanko.sign.validation.generic_cms import async_validate_detached_cms, extract_self_reported_ts
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko.sign.validation.status import StandardCMSSignatureStatus
from pyhanko_certvalidator import ValidationContext

from .errors import AccountError

REASONS = (
    "signature_invalid",
    "signing_time_implausible",
    "signature_untrusted",
    "certificate_expired",
    "certificate_not_yet_valid",
    "certificate_not_for_signing",
    "signer_name_mismatch",
)

SIGNING_KEY_USAGES = frozenset({"digital_signature", "non_repudiation"})
MAX_SIGNATURE_BYTES = 256 * 1024  # a .p7s with a full chain is a few kB
ANCHOR_SUFFIXES = (".pem", ".crt", ".cer")
DEFAULT_CLOCK_SKEW = timedelta(minutes=5)  # the citizen's computer clock is not ours


@dataclass(frozen=True)
class SignerInfo:
    """Who signed, with which certificate, and when: what the account records."""

    common_name: str
    family_name: str | None  # the certificate's surname attribute, when present
    given_name: str | None  # the certificate's givenName attribute, when present
    subject_serial_number: str | None  # subject serialNumber (e.g. ETSI "PNOHU-..."), when present
    certificate_serial: str  # hexadecimal, as an issuer's register shows it
    issuer: str  # RFC 4514
    fingerprint_sha256: str  # hexadecimal, of the DER certificate
    signing_time: datetime
    signing_time_source: str  # "signed_attribute" or "verification_time"


def verify_registration_signature(
    data: bytes,
    signature: bytes,
    trust_anchors: list[bytes],
    expected_name: tuple[str, str],
    now: datetime,
    *,
    document_created_at: datetime | None = None,
    clock_skew: timedelta = DEFAULT_CLOCK_SKEW,
) -> SignerInfo:
    """Verify a detached CMS ``signature`` over ``data`` and return who signed it.

    ``trust_anchors`` are CA certificates (PEM or DER), ``expected_name`` the
    registered ``(family, given)`` name, ``now`` an aware datetime. Raises
    :class:`AccountError` with one of :data:`REASONS`. Checks run in this order:
    the structure, the claimed signing time, integrity (so a tampered document is
    ``signature_invalid`` whoever signed it), the path to an anchor, the
    certificates' validity at the signing time, the key usage, the name.
    Call it from synchronous code (it runs pyHanko's validator in its own loop).
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    anchors = [_load_ca_certificate(raw) for raw in trust_anchors]
    signed_data = _parse_signed_data(signature)
    signer = signed_data["signer_infos"][0]

    claimed = extract_self_reported_ts(signer)
    moment = claimed or now
    if claimed is not None:
        too_late = claimed > now + clock_skew
        too_early = document_created_at is not None and claimed < document_created_at - clock_skew
        if too_late or too_early:
            raise AccountError("signing_time_implausible")

    if not anchors:  # never let the validator fall back to the system's TLS roots
        raise AccountError("signature_untrusted")
    context = ValidationContext(trust_roots=anchors, moment=moment, allow_fetching=False)
    usage = KeyUsageConstraints(key_usage=SIGNING_KEY_USAGES, match_all_key_usages=False)
    try:
        status = asyncio.run(async_validate_detached_cms(
            data, signed_data, signer_validation_context=context, key_usage_settings=usage))
        cert = x509.load_der_x509_certificate(status.signing_cert.dump())
    except Exception as exc:  # pyHanko, asn1crypto and cryptography raise their own errors on malformed input
        raise AccountError("signature_invalid") from exc

    _check_trust(status, cert, moment)
    if not _may_sign(cert):  # also when the signer is itself an anchor, which pyHanko exempts
        raise AccountError("certificate_not_for_signing")
    if not name_matches(cert.subject, *expected_name):
        raise AccountError("signer_name_mismatch")
    return SignerInfo(
        common_name=_attribute(cert.subject, NameOID.COMMON_NAME) or "",
        family_name=_attribute(cert.subject, NameOID.SURNAME),
        given_name=_attribute(cert.subject, NameOID.GIVEN_NAME),
        subject_serial_number=_attribute(cert.subject, NameOID.SERIAL_NUMBER),
        certificate_serial=format(cert.serial_number, "X"),
        issuer=cert.issuer.rfc4514_string(),
        fingerprint_sha256=hashlib.sha256(status.signing_cert.dump()).hexdigest(),
        signing_time=moment,
        signing_time_source="signed_attribute" if claimed is not None else "verification_time",
    )


def load_trust_anchors(folder: Path) -> list[bytes]:
    """Every CA certificate in ``*.pem``/``*.crt``/``*.cer`` files of ``folder``, as DER.

    A PEM file may hold several certificates (a bundle). A file that is not a CA
    certificate is a configuration error and raises ``ValueError`` naming it: a
    citizen's own certificate dropped here would otherwise be trusted as a root.
    A missing folder raises ``FileNotFoundError``; an empty one trusts nobody.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"trusted CA folder not found: {folder}")
    anchors: list[bytes] = []
    for path in sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in ANCHOR_SUFFIXES):
        raw = path.read_bytes()
        blocks = [der for _, _, der in asn1_pem.unarmor(raw, multiple=True)] if asn1_pem.detect(raw) else [raw]
        for der in blocks:
            try:
                anchors.append(_load_ca_certificate(der).dump())
            except ValueError as exc:
                raise ValueError(f"{path.name}: {exc}") from exc
    return anchors


def name_matches(subject: x509.Name, family: str, given: str) -> bool:
    """Does the certificate subject name this person?

    Compared after Unicode normalisation (NFKC), case folding and collapsing
    spaces. The common name may read "Family Given" (Hungarian order) or "Given
    Family"; surname + givenName attributes, when present, match on their own.
    """
    want_family, want_given = _fold(family), _fold(given)
    if not want_family or not want_given:
        return False
    surnames = {_fold(a.value) for a in subject.get_attributes_for_oid(NameOID.SURNAME)}
    givens = {_fold(a.value) for a in subject.get_attributes_for_oid(NameOID.GIVEN_NAME)}
    if want_family in surnames and want_given in givens:
        return True
    common_names = {_fold(a.value) for a in subject.get_attributes_for_oid(NameOID.COMMON_NAME)}
    return bool(common_names & {f"{want_family} {want_given}", f"{want_given} {want_family}"})


def _fold(text: object) -> str:
    if not isinstance(text, str):
        return ""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _attribute(name: x509.Name, oid: x509.ObjectIdentifier) -> str | None:
    values = name.get_attributes_for_oid(oid)
    return str(values[0].value) if values else None


def _parse_signed_data(signature: bytes) -> asn1_cms.SignedData:
    """The one SignedData in a .p7s, DER or PEM; anything else is ``signature_invalid``."""
    if not isinstance(signature, bytes | bytearray) or not signature or len(signature) > MAX_SIGNATURE_BYTES:
        raise AccountError("signature_invalid")
    try:
        der = bytes(signature)
        if asn1_pem.detect(der):
            _, _, der = asn1_pem.unarmor(der)
        info = asn1_cms.ContentInfo.load(der, strict=True)
        if info["content_type"].native != "signed_data":
            raise ValueError("not a SignedData")
        signed_data = info["content"]
        if len(signed_data["signer_infos"]) != 1:
            raise ValueError("exactly one signer expected")
        signed_data.native  # noqa: B018 - parse every field now, so garbage fails here and not deep in the validator
    except AccountError:
        raise
    except Exception as exc:  # asn1crypto raises ValueError, TypeError, KeyError… on garbage
        raise AccountError("signature_invalid") from exc
    return signed_data


def _load_ca_certificate(raw: bytes) -> asn1_x509.Certificate:
    try:
        der = asn1_pem.unarmor(raw)[2] if asn1_pem.detect(raw) else raw
        cert = asn1_x509.Certificate.load(der, strict=True)
        cert.native  # noqa: B018 - parse fully: a corrupt anchor must fail at configuration time
    except Exception as exc:
        raise ValueError("not an X.509 certificate") from exc
    if not cert.ca:
        raise ValueError("not a CA certificate (basicConstraints cA is not set)")
    return cert


def _check_trust(status: StandardCMSSignatureStatus, cert: x509.Certificate, moment: datetime) -> None:
    """pyHanko decides; this only picks the reason that tells the citizen what is wrong."""
    if not (status.intact and status.valid):
        raise AccountError("signature_invalid")  # the digest differs (tampered document) or the signature is bad
    problem = status.trust_problem_indic
    if problem is None:
        return
    if problem is AdESIndeterminate.NO_CERTIFICATE_CHAIN_FOUND:
        raise AccountError("signature_untrusted")
    if problem in (AdESIndeterminate.CRYPTO_CONSTRAINTS_FAILURE, AdESIndeterminate.CRYPTO_CONSTRAINTS_FAILURE_NO_POE):
        raise AccountError("signature_invalid")  # a banned algorithm (MD5, SHA-1) or a too-short key
    if not _may_sign(cert):
        raise AccountError("certificate_not_for_signing")
    # An expired or not-yet-valid CA on the path is reported by pyHanko as a general
    # chain failure; the path it tried tells which certificate was out of its time.
    path = status.validation_path
    chain = [cert] + ([x509.load_der_x509_certificate(c.dump()) for c in path.iter_certs(include_root=True)]
                      if path is not None else [])
    if problem is AdESIndeterminate.NOT_YET_VALID or any(moment < c.not_valid_before_utc for c in chain):
        raise AccountError("certificate_not_yet_valid")
    if problem in (AdESIndeterminate.EXPIRED, AdESIndeterminate.OUT_OF_BOUNDS_NO_POE) \
            or any(moment > c.not_valid_after_utc for c in chain):
        raise AccountError("certificate_expired")
    raise AccountError("signature_untrusted")


def _may_sign(cert: x509.Certificate) -> bool:
    """A signing certificate states digitalSignature or nonRepudiation (contentCommitment).

    A certificate without a key usage extension is refused: every signing certificate a
    trust service issues states its usage, and RFC 5280's "absent means any" is no proof
    the CA meant it for signing.
    """
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return False
    return usage.digital_signature or usage.content_commitment
