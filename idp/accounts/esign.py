"""Electronic registration: verifying the citizen's signature over the registration
(PRODUCT.md rule 1, third channel).

"Amennyiben rendelkezik digitális aláírással ... okmányiroda felkeresése nélkül is
regisztrálhat": a citizen holding a digital signature registers with no office
visit. The registration is signed with the citizen's X.509 signing certificate,
which must chain to a CA the operator trusts (``keys/trusted-ca/``), be valid at a
trustworthy time, not be revoked, carry a signing key usage, and name the
registered person.

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
the digest of the content and the signature over the signed attributes, validates
an RFC 3161 signature timestamp (its signature, that it covers this signature, the
TSA's certificate), and its certificate validator builds and validates the path to
the configured anchors, revocation included. This module adds only policy:

* **Which moment counts** (RFC 5280 §6.1.3 asks for a trustworthy one). The
  signer's ``signingTime`` attribute is the signer's own claim (ETSI EN 319 102-1:
  it proves nothing), so the path is validated **now**, at upload. An earlier
  moment counts only when a **trusted signature timestamp** (CAdES-T: an RFC 3161
  token in the unsigned ``signature-time-stamp-token`` attribute) from a TSA the
  operator configured proves the signature existed then: when the certificate has
  expired since, the path is validated again at the timestamp's time. A timestamp
  that proves nothing (an unconfigured TSA, not covering this signature, dated
  outside the document's life) is treated as absent: it is an unsigned attribute
  anyone can add or strip, and it can only ever move the moment earlier, so
  ignoring it never accepts more. It is named as the reason only when the
  certificate's expiry made it necessary (``timestamp_untrusted``,
  ``timestamp_invalid``), so the citizen learns why the timestamp did not help.
  (An attribute that holds no timestamp token at all is a malformed signature:
  ``signature_invalid``.)
* **Revocation** against the operator's CRLs (``keys/crl/``), never fetched:
  pyHanko's ``hard-fail`` mode, so a certificate naming a CRL distribution point
  or an OCSP responder must be covered by a current CRL (``revocation_unknown``
  otherwise), and one a CRL lists is ``certificate_revoked``. A CRL counts only
  while current (``thisUpdate`` ≤ now ≤ ``nextUpdate``): validating at a
  timestamp's time reads today's CRLs as evidence for that time (pyHanko's
  retroactive reading), which must not let a stale one in.
* The key usage, and the name.

The signing time stays bounded as before: a claimed ``signingTime`` in the future or
before the (sealed) registration document existed is ``signing_time_implausible``.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from asn1crypto import cms as asn1_cms
from asn1crypto import crl as asn1_crl
from asn1crypto import pem as asn1_pem
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.x509.oid import NameOID
from pyhanko.sign.ades.report import AdESIndeterminate
from pyhanko.sign.validation.generic_cms import async_validate_detached_cms, extract_self_reported_ts
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko.sign.validation.status import StandardCMSSignatureStatus, TimestampSignatureStatus
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.errors import (
    ExpiredError,
    InsufficientRevinfoError,
    NotYetValidError,
    RevokedError,
)
from pyhanko_certvalidator.validate import async_validate_path

from .errors import AccountError
from .esign_trust import load_ca_certificate, load_crl, load_tsa_certificate

log = logging.getLogger("idp.esign")

REASONS = (
    "signature_invalid",
    "signing_time_implausible",
    "signature_untrusted",
    "certificate_expired",
    "certificate_not_yet_valid",
    "certificate_revoked",
    "revocation_unknown",
    "timestamp_untrusted",
    "timestamp_invalid",
    "certificate_not_for_signing",
    "signer_name_mismatch",
)

#: Where ``SignerInfo.signing_time`` comes from.
SIGNATURE_TIMESTAMP = "signature_timestamp"
VERIFICATION_TIME = "verification_time"

SIGNING_KEY_USAGES = frozenset({"digital_signature", "non_repudiation"})
MAX_SIGNATURE_BYTES = 256 * 1024  # a .p7s with a full chain and a timestamp is a few kB
DEFAULT_CLOCK_SKEW = timedelta(minutes=5)  # the citizen's computer clock is not ours
#: pyHanko's revocation mode: a certificate that names where its status is published must be
#: checked against a current CRL; one that names nowhere is not (SECURITY.md states the trade-off).
REVOCATION_MODE = "hard-fail"


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
    #: When the signature is known to have existed: a trusted timestamp's time, else the upload.
    signing_time: datetime
    signing_time_source: str  # SIGNATURE_TIMESTAMP or VERIFICATION_TIME
    #: The moment the certificate path was validated at: the upload, or the trusted timestamp's
    #: time when the certificate has expired since.
    validated_at: datetime
    #: The signer's own ``signingTime`` attribute: recorded for the audit trail, never relied on.
    claimed_signing_time: datetime | None = None
    #: The TSA whose timestamp counted (RFC 4514), when one did.
    timestamp_authority: str | None = None


@dataclass(frozen=True)
class _Trust:
    """What the operator configured, parsed, and the moment of the upload."""

    anchors: list[asn1_x509.Certificate]
    tsas: list[asn1_x509.Certificate]
    crls: list[asn1_crl.CertificateList]
    now: datetime

    def context(self, roots: list[asn1_x509.Certificate], moment: datetime, *, retroactive: bool = False):
        # An explicit (possibly empty) root list always: pyHanko falls back to the system's TLS
        # roots only when given none at all. Nothing is fetched: no outbound request from an upload.
        return ValidationContext(
            trust_roots=roots, moment=moment, allow_fetching=False, crls=self.crls,
            revocation_mode=REVOCATION_MODE, retroactive_revinfo=retroactive,
        )


def verify_registration_signature(
    data: bytes,
    signature: bytes,
    trust_anchors: Sequence[bytes],
    expected_name: tuple[str, str],
    now: datetime,
    *,
    timestamp_authorities: Sequence[bytes] = (),
    crls: Sequence[bytes] = (),
    document_created_at: datetime | None = None,
    clock_skew: timedelta = DEFAULT_CLOCK_SKEW,
) -> SignerInfo:
    """Verify a detached CMS ``signature`` over ``data`` and return who signed it.

    ``trust_anchors`` are CA certificates (PEM or DER), ``timestamp_authorities`` the
    trusted TSAs' certificates (or their CAs'), ``crls`` DER or PEM CRLs,
    ``expected_name`` the registered ``(family, given)`` name, ``now`` an aware
    datetime (the upload). Raises :class:`AccountError` with one of :data:`REASONS`.
    Checks run in this order: the structure, the claimed signing time, integrity (so
    a tampered document is ``signature_invalid`` whoever signed it), the path to an
    anchor now (with revocation), at a trusted timestamp's time when the certificate
    has expired since, the key usage, the name.
    Call it from synchronous code (it runs pyHanko's validator in its own loop).
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    trust = _Trust(
        anchors=[load_ca_certificate(raw) for raw in trust_anchors],
        tsas=[load_tsa_certificate(raw) for raw in timestamp_authorities],
        crls=_current_crls(crls, now),
        now=now,
    )
    signed_data = _parse_signed_data(signature)
    signer = signed_data["signer_infos"][0]

    claimed = extract_self_reported_ts(signer)
    earliest = document_created_at - clock_skew if document_created_at is not None else None
    if claimed is not None and (claimed > now + clock_skew or (earliest is not None and claimed < earliest)):
        raise AccountError("signing_time_implausible")

    if not trust.anchors:
        raise AccountError("signature_untrusted")
    status, validated_at, stamp = asyncio.run(_verify(bytes(data), signed_data, trust, earliest, now + clock_skew))
    cert = x509.load_der_x509_certificate(status.signing_cert.dump())
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
        signing_time=stamp.timestamp if stamp is not None else now,
        signing_time_source=SIGNATURE_TIMESTAMP if stamp is not None else VERIFICATION_TIME,
        validated_at=validated_at,
        claimed_signing_time=claimed,
        timestamp_authority=(
            x509.load_der_x509_certificate(stamp.signing_cert.dump()).subject.rfc4514_string()
            if stamp is not None else None
        ),
    )


async def _verify(
    data: bytes, signed_data: asn1_cms.SignedData, trust: _Trust, earliest: datetime | None, latest: datetime
) -> tuple[StandardCMSSignatureStatus, datetime, TimestampSignatureStatus | None]:
    """The status pyHanko reports, the moment it validated at, and the timestamp that counted."""
    status = await _validated(data, signed_data, trust, trust.now)
    problem = await _trust_problem(status, trust, trust.now)
    stamp = status.timestamp_validity
    stamp_problem = _timestamp_problem(stamp, earliest, latest) if stamp is not None else None
    usable = stamp if stamp is not None and stamp_problem is None else None
    if problem == "certificate_expired" and stamp is not None:
        if usable is None:
            raise AccountError(stamp_problem)
        status = await _validated(data, signed_data, trust, usable.timestamp, retroactive=True)
        problem = await _trust_problem(status, trust, usable.timestamp, retroactive=True)
        if problem is None:
            return status, usable.timestamp, usable
    if problem is not None:
        raise AccountError(problem)
    return status, trust.now, usable


async def _validated(
    data: bytes, signed_data: asn1_cms.SignedData, trust: _Trust, moment: datetime, *, retroactive: bool = False
) -> StandardCMSSignatureStatus:
    """pyHanko's verdict with the signer's path validated at ``moment``; the TSA's always now."""
    usage = KeyUsageConstraints(key_usage=SIGNING_KEY_USAGES, match_all_key_usages=False)
    try:
        return await async_validate_detached_cms(
            data, signed_data,
            signer_validation_context=trust.context(trust.anchors, moment, retroactive=retroactive),
            ts_validation_context=trust.context(trust.tsas, trust.now),
            key_usage_settings=usage,
        )
    except Exception as exc:  # pyHanko and asn1crypto raise their own errors on malformed input
        raise AccountError("signature_invalid") from exc


def _timestamp_problem(stamp: TimestampSignatureStatus, earliest: datetime | None, latest: datetime) -> str | None:
    """Why a signature timestamp proves nothing (pyHanko judged it), or None when it counts."""
    if not (stamp.intact and stamp.valid):
        return "timestamp_invalid"  # its imprint is not of this signature, or its own signature fails
    if not stamp.trusted:
        return "timestamp_untrusted"  # no path to a configured TSA, or the TSA's certificate is not valid now
    if stamp.timestamp > latest or (earliest is not None and stamp.timestamp < earliest):
        return "timestamp_invalid"  # a signature of a document cannot predate the document
    return None


async def _trust_problem(
    status: StandardCMSSignatureStatus, trust: _Trust, moment: datetime, *, retroactive: bool = False
) -> str | None:
    """pyHanko decides; this only picks the reason that tells the citizen what is wrong."""
    if not (status.intact and status.valid):
        return "signature_invalid"  # the digest differs (tampered document) or the signature is bad
    problem = status.trust_problem_indic
    if problem is None:
        return None
    if problem is AdESIndeterminate.NO_CERTIFICATE_CHAIN_FOUND:
        return "signature_untrusted"
    if problem in (AdESIndeterminate.CRYPTO_CONSTRAINTS_FAILURE, AdESIndeterminate.CRYPTO_CONSTRAINTS_FAILURE_NO_POE):
        return "signature_invalid"  # a banned algorithm (MD5, SHA-1) or a too-short key
    if not _may_sign(x509.load_der_x509_certificate(status.signing_cert.dump())):
        return "certificate_not_for_signing"
    if problem in (AdESIndeterminate.REVOKED_NO_POE, AdESIndeterminate.REVOKED_CA_NO_POE):
        return "certificate_revoked"
    if problem is AdESIndeterminate.TRY_LATER:
        return "revocation_unknown"  # the only CRL there is went stale
    if problem is AdESIndeterminate.NOT_YET_VALID:
        return "certificate_not_yet_valid"
    if problem in (AdESIndeterminate.EXPIRED, AdESIndeterminate.OUT_OF_BOUNDS_NO_POE):
        return "certificate_expired"
    # A general chain failure (a CA out of its validity, a status nobody published…) does not say
    # which; validating the path pyHanko tried once more raises the error that does.
    path = status.validation_path
    if path is None:
        return "signature_untrusted"
    try:
        await async_validate_path(trust.context(trust.anchors, moment, retroactive=retroactive), path)
    except RevokedError:
        return "certificate_revoked"
    except InsufficientRevinfoError:  # also StaleRevinfoError
        return "revocation_unknown"
    except ExpiredError:
        return "certificate_expired"
    except NotYetValidError:
        return "certificate_not_yet_valid"
    except Exception:  # any other path failure: not a path this service trusts
        return "signature_untrusted"
    return "signature_untrusted"


def _current_crls(crls: Sequence[bytes], now: datetime) -> list[asn1_crl.CertificateList]:
    """The CRLs current now. pyHanko judges freshness itself at the upload; validating at a
    timestamp's time it reads CRLs retroactively, which would also let in one stale today."""
    current = []
    for crl in map(load_crl, crls):
        tbs = crl["tbs_cert_list"]
        this_update, next_update = tbs["this_update"].native, tbs["next_update"].native
        if this_update <= now and next_update is not None and now <= next_update:
            current.append(crl)
        else:  # the operator must know: certificates of this CA are refused until the CRL is refreshed
            log.warning("CRL of %s is not current (nextUpdate %s); refresh keys.crl_dir",
                        tbs["issuer"].human_friendly, next_update)
    return current


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
