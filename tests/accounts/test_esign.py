"""PRODUCT.md rule 1, third channel: a registration signed with the citizen's certificate
("digitális aláírással ... okmányiroda felkeresése nélkül is regisztrálhat").

The tests make their own CAs, TSAs, CRLs and citizens (tests/support/pki.py) once per
module. The PKCS#7 builder stamps signingTime with the wall clock, so ``now`` here is
the wall clock too, and certificates are placed around it. The certificate is
validated at the upload (RFC 5280 §6.1.3), earlier only at a trusted timestamp's time
(RFC 3161, CAdES-T), never at the signer's own signingTime (ETSI EN 319 102-1).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import unicodedata
from datetime import timedelta
from types import SimpleNamespace

import pytest

from asn1crypto import cms as asn1_cms
from cryptography.hazmat.primitives import serialization

from idp.accounts.errors import AccountError
from idp.accounts.esign import REASONS, SignerInfo, verify_registration_signature

from ..support.pki import make_root_ca, sign_cades, sign_detached, wall_now

DATA = "REGISZTRÁCIÓ v1\nfamily_name=Kovács\ngiven_name=János\nbirth_date=1980-02-29\n".encode()
NAME = ("Kovács", "János")
CRL_URL = "http://crl.example.hu/test-root.crl"


@pytest.fixture(scope="module")
def pki():
    now = wall_now()
    root = make_root_ca("Test Root CA")
    intermediate = root.issue_ca("Test Qualified Signing CA")
    other_root = make_root_ca("Some Other Root CA")
    old_intermediate = root.issue_ca("Retired Signing CA", not_before=now - timedelta(days=400), days=300)
    future_intermediate = root.issue_ca("Future Signing CA", not_before=now + timedelta(days=10))
    tsa_root = make_root_ca("Test TSA Root")
    revoked_ca = root.issue_ca("Revoked Signing CA", crl_url=CRL_URL)
    revoked = root.issue_citizen(*NAME, crl_url=CRL_URL)
    return SimpleNamespace(
        root=root,
        intermediate=intermediate,
        other_root=other_root,
        citizen=root.issue_citizen(*NAME),
        via_intermediate=intermediate.issue_citizen(*NAME),
        rsa_citizen=root.issue_citizen(*NAME, key_kind="rsa"),
        foreigner=other_root.issue_citizen(*NAME),
        expired=root.issue_citizen(*NAME, not_before=now - timedelta(days=800), not_after=now - timedelta(days=70)),
        not_yet_valid=root.issue_citizen(*NAME, not_before=now + timedelta(days=3), not_after=now + timedelta(days=700)),
        encipher_only=root.issue_citizen(*NAME, key_usage={"key_encipherment"}),
        no_key_usage=root.issue_citizen(*NAME, key_usage=None),
        non_repudiation_only=root.issue_citizen(*NAME, key_usage={"non_repudiation"}),
        digital_signature_only=root.issue_citizen(*NAME, key_usage={"digital_signature"}),
        stranger=root.issue_citizen("Nagy", "Éva"),
        cn_only=root.issue_citizen(*NAME, name_attributes=False),
        under_old_intermediate=old_intermediate.issue_citizen(*NAME, not_before=now - timedelta(days=390),
                                                              not_after=now + timedelta(days=300)),
        old_intermediate=old_intermediate,
        under_future_intermediate=future_intermediate.issue_citizen(*NAME),
        future_intermediate=future_intermediate,
        # time-stamping authorities
        tsa_root=tsa_root,
        tsa=tsa_root.issue_tsa(),
        tsa_without_time_stamping=tsa_root.issue_tsa("Not A Time-Stamping Unit", time_stamping=False),
        rogue_tsa=other_root.issue_tsa("Rogue Time-Stamping Unit"),
        # revocation: certificates that name the root's CRL, and that CRL
        published=root.issue_citizen(*NAME, crl_url=CRL_URL),
        revoked=revoked,
        revoked_ca=revoked_ca,
        under_revoked_ca=revoked_ca.issue_citizen(*NAME),
        expired_published=root.issue_citizen(*NAME, not_before=now - timedelta(days=800),
                                             not_after=now - timedelta(days=2), crl_url=CRL_URL),
        revocations=root.crl([(revoked, now - timedelta(days=1)), (revoked_ca, now - timedelta(days=1))]),
    )


def verify(signature, *, anchors=None, pki=None, data=DATA, name=NAME, now=None, **kwargs) -> SignerInfo:
    anchors = [pki.root.pem()] if anchors is None else anchors
    return verify_registration_signature(data, signature, anchors, name, now or wall_now(), **kwargs)


def with_timestamp_of(signature: bytes, stamped: bytes) -> bytes:
    """``signature`` carrying the signature timestamp of ``stamped``: the unsigned attributes are
    outside what the signer signed, so the signature itself stays intact."""
    info = asn1_cms.ContentInfo.load(signature)
    donor = asn1_cms.ContentInfo.load(stamped)
    info["content"]["signer_infos"][0]["unsigned_attrs"] = donor["content"]["signer_infos"][0]["unsigned_attrs"]
    return info.dump(force=True)


def refusal(signature, **kwargs) -> str:
    with pytest.raises(AccountError) as exc:
        verify(signature, **kwargs)
    return exc.value.reason


# --- what verifies -------------------------------------------------------------------------

def test_a_valid_signature_verifies_and_names_the_signer(pki):
    info = verify(sign_detached(pki.citizen, DATA), pki=pki)
    assert info.common_name == "Kovács János"
    assert (info.family_name, info.given_name) == NAME
    assert info.subject_serial_number == "PNOHU-12345678"
    assert info.fingerprint_sha256 == hashlib.sha256(pki.citizen.der()).hexdigest()
    assert info.certificate_serial == format(pki.citizen.cert.serial_number, "X")
    assert "Test Root CA" in info.issuer
    assert abs(info.claimed_signing_time - wall_now()) < timedelta(minutes=1)


def test_without_a_timestamp_the_signature_counts_from_its_upload(pki):
    """The signer's own signingTime is recorded but never relied on (ETSI EN 319 102-1)."""
    now = wall_now() + timedelta(minutes=1)
    info = verify(sign_detached(pki.citizen, DATA), pki=pki, now=now)
    assert (info.signing_time, info.signing_time_source, info.validated_at) == (now, "verification_time", now)
    assert info.timestamp_authority is None


def test_a_signature_through_an_intermediate_ca_verifies(pki):
    signature = sign_detached(pki.via_intermediate, DATA, chain=[pki.intermediate])
    assert verify(signature, pki=pki).common_name == "Kovács János"


def test_an_intermediate_configured_as_anchor_needs_no_chain_in_the_signature(pki):
    signature = sign_detached(pki.via_intermediate, DATA)
    assert verify(signature, pki=pki, anchors=[pki.intermediate.der()])


def test_a_signature_whose_intermediate_is_neither_sent_nor_configured_is_untrusted(pki):
    assert refusal(sign_detached(pki.via_intermediate, DATA), pki=pki) == "signature_untrusted"


@pytest.mark.parametrize("encoding", ["der", "pem"])
def test_a_p7s_is_accepted_in_der_and_in_pem(pki, encoding):
    signature = sign_detached(pki.citizen, DATA, pem=encoding == "pem")
    assert signature.startswith(b"-----BEGIN") == (encoding == "pem")
    assert verify(signature, pki=pki)


@pytest.mark.parametrize("encoding", ["der", "pem"])
def test_trust_anchors_are_accepted_in_der_and_in_pem(pki, encoding):
    anchor = pki.root.der() if encoding == "der" else pki.root.pem()
    assert verify(sign_detached(pki.citizen, DATA), pki=pki, anchors=[anchor])


def test_an_rsa_signature_verifies(pki):
    assert verify(sign_detached(pki.rsa_citizen, DATA), pki=pki)


@pytest.mark.parametrize("citizen", ["non_repudiation_only", "digital_signature_only"])
def test_either_signing_key_usage_is_enough(pki, citizen):
    assert verify(sign_detached(getattr(pki, citizen), DATA), pki=pki)


def test_without_a_signing_time_the_certificate_is_checked_now(pki):
    signature = sign_detached(pki.citizen, DATA, signed_attributes=False)
    now = wall_now()
    info = verify(signature, pki=pki, now=now)
    assert (info.validated_at, info.signing_time_source, info.claimed_signing_time) == (now, "verification_time", None)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="the openssl command is not installed")
@pytest.mark.parametrize("flags", [pytest.param([], id="cms"), pytest.param(["-cades"], id="cades-bes")])
def test_a_p7s_made_by_the_openssl_command_verifies(pki, tmp_path, flags):
    """What a citizen's own tool writes: ``openssl cms -sign -binary`` (detached by default)."""
    (tmp_path / "cert.pem").write_bytes(pki.rsa_citizen.pem())
    (tmp_path / "key.pem").write_bytes(pki.rsa_citizen.key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    (tmp_path / "registration.txt").write_bytes(DATA)
    subprocess.run(
        ["openssl", "cms", "-sign", "-binary", *flags, "-md", "sha256", "-in", "registration.txt",
         "-signer", "cert.pem", "-inkey", "key.pem", "-outform", "DER", "-out", "registration.p7s"],
        cwd=tmp_path, check=True, capture_output=True, timeout=30,
    )
    assert verify((tmp_path / "registration.p7s").read_bytes(), pki=pki).claimed_signing_time is not None


# --- the failure cases -------------------------------------------------------------------------

def test_a_signature_from_a_ca_not_configured_is_untrusted(pki):
    assert refusal(sign_detached(pki.foreigner, DATA), pki=pki) == "signature_untrusted"


def test_with_no_trusted_ca_configured_every_signature_is_untrusted(pki):
    assert refusal(sign_detached(pki.citizen, DATA), pki=pki, anchors=[]) == "signature_untrusted"


def test_an_expired_certificate_is_refused(pki):
    assert refusal(sign_detached(pki.expired, DATA), pki=pki) == "certificate_expired"


def test_a_certificate_not_yet_valid_is_refused(pki):
    assert refusal(sign_detached(pki.not_yet_valid, DATA), pki=pki) == "certificate_not_yet_valid"


def test_a_certificate_whose_ca_has_expired_is_refused(pki):
    signature = sign_detached(pki.under_old_intermediate, DATA, chain=[pki.old_intermediate])
    assert refusal(signature, pki=pki) == "certificate_expired"


def test_a_certificate_whose_ca_is_not_yet_valid_is_refused(pki):
    signature = sign_detached(pki.under_future_intermediate, DATA, chain=[pki.future_intermediate])
    assert refusal(signature, pki=pki) == "certificate_not_yet_valid"


def test_without_a_signing_time_a_certificate_expired_now_is_refused(pki):
    signature = sign_detached(pki.citizen, DATA, signed_attributes=False)
    later = pki.citizen.cert.not_valid_after_utc + timedelta(days=1)
    assert refusal(signature, pki=pki, now=later) == "certificate_expired"


@pytest.mark.parametrize("at", [0, 1, len(DATA) // 2, len(DATA) - 1])
def test_a_tampered_document_is_refused(pki, at):
    tampered = bytearray(DATA)
    tampered[at] ^= 0x01
    assert refusal(sign_detached(pki.citizen, DATA), pki=pki, data=bytes(tampered)) == "signature_invalid"


def test_a_document_with_a_byte_appended_is_refused(pki):
    assert refusal(sign_detached(pki.citizen, DATA), pki=pki, data=DATA + b"\n") == "signature_invalid"


def test_a_tampered_document_is_refused_also_without_signed_attributes(pki):
    signature = sign_detached(pki.citizen, DATA, signed_attributes=False)
    assert refusal(signature, pki=pki, data=DATA.replace(b"1980", b"1981")) == "signature_invalid"


def test_a_signer_of_another_name_is_refused(pki):
    assert refusal(sign_detached(pki.stranger, DATA), pki=pki) == "signer_name_mismatch"


def test_a_certificate_without_a_signing_key_usage_is_refused(pki):
    assert refusal(sign_detached(pki.encipher_only, DATA), pki=pki) == "certificate_not_for_signing"


def test_a_certificate_without_any_key_usage_extension_is_refused(pki):
    assert refusal(sign_detached(pki.no_key_usage, DATA), pki=pki) == "certificate_not_for_signing"


def test_a_signature_made_with_the_ca_key_itself_is_refused(pki):
    assert refusal(sign_detached(pki.root, DATA), pki=pki, name=("Test Root", "CA")) == "certificate_not_for_signing"


@pytest.mark.parametrize(
    "garbage",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"not a signature at all", id="text"),
        pytest.param(bytes(range(256)) * 4, id="random-bytes"),
        pytest.param(b"-----BEGIN PKCS7-----\nbm9wZQ==\n-----END PKCS7-----\n", id="pem-of-nothing"),
        pytest.param(b"0" * (300 * 1024), id="too-large"),
    ],
)
def test_garbage_instead_of_a_signature_is_refused(pki, garbage):
    assert refusal(garbage, pki=pki) == "signature_invalid"


def test_a_truncated_signature_is_refused(pki):
    signature = sign_detached(pki.citizen, DATA)
    assert refusal(signature[: len(signature) // 2], pki=pki) == "signature_invalid"


def test_a_signature_with_a_flipped_byte_is_refused(pki):
    signature = bytearray(sign_detached(pki.citizen, DATA))
    signature[-5] ^= 0xFF  # inside the signature value at the end of the SignerInfo
    assert refusal(bytes(signature), pki=pki) == "signature_invalid"


def test_a_certificate_instead_of_a_signature_is_refused(pki):
    assert refusal(pki.citizen.der(), pki=pki) == "signature_invalid"


def test_a_signature_with_the_document_embedded_is_refused(pki):
    """Only a detached .p7s: the document verified is the one the provider holds."""
    assert refusal(sign_detached(pki.citizen, DATA, detached=False), pki=pki) == "signature_invalid"


def test_a_signature_without_the_signers_certificate_is_refused(pki):
    assert refusal(sign_detached(pki.citizen, DATA, with_certificate=False), pki=pki) == "signature_invalid"


def test_a_signature_with_two_signers_is_refused(pki):
    signature = sign_detached(pki.citizen, DATA, co_signers=[pki.stranger])
    assert refusal(signature, pki=pki) == "signature_invalid"


# --- the signing time is the signer's claim, so it is bounded ----------------------------------

def test_a_signing_time_in_the_future_is_refused(pki):
    signature = sign_detached(pki.citizen, DATA)
    assert refusal(signature, pki=pki, now=wall_now() - timedelta(hours=1)) == "signing_time_implausible"


def test_a_signing_time_a_little_ahead_of_our_clock_is_tolerated(pki):
    assert verify(sign_detached(pki.citizen, DATA), pki=pki, now=wall_now() - timedelta(minutes=2))


def test_a_signing_time_before_the_registration_document_existed_is_refused(pki):
    signature = sign_detached(pki.citizen, DATA)
    created = wall_now() + timedelta(hours=1)
    assert refusal(signature, pki=pki, now=created, document_created_at=created) == "signing_time_implausible"


def test_a_signing_time_after_the_registration_document_existed_is_accepted(pki):
    signature = sign_detached(pki.citizen, DATA)
    assert verify(signature, pki=pki, document_created_at=wall_now() - timedelta(minutes=10))


# --- the moment: the upload, or a trusted timestamp (finding 1) --------------------------------

def test_a_backdated_signing_time_does_not_revive_an_expired_certificate(pki):
    """The finding: a certificate that ran out, and a signingTime the signer wrote from when it was
    valid (with a document "created" before it, as an edited created_at would say)."""
    while_valid = pki.expired.cert.not_valid_after_utc - timedelta(days=10)
    signature = sign_cades(pki.expired, DATA, signing_time=while_valid)
    assert refusal(signature, pki=pki, document_created_at=while_valid - timedelta(hours=1)) == "certificate_expired"


def test_an_expired_certificate_counts_with_a_trusted_timestamp_from_before_its_expiry(pki):
    stamped = pki.expired.cert.not_valid_after_utc - timedelta(days=1)
    signature = sign_cades(pki.expired, DATA, signing_time=stamped, tsa=pki.tsa, timestamp_at=stamped)
    info = verify(signature, pki=pki, timestamp_authorities=[pki.tsa.der()])
    assert (info.signing_time, info.signing_time_source, info.validated_at) == (stamped, "signature_timestamp", stamped)
    assert "Test Time-Stamping Unit" in info.timestamp_authority


def test_a_tsa_is_trusted_through_the_ca_configured_for_it(pki):
    stamped = pki.expired.cert.not_valid_after_utc - timedelta(days=1)
    signature = sign_cades(pki.expired, DATA, tsa=pki.tsa, timestamp_at=stamped)
    assert verify(signature, pki=pki, timestamp_authorities=[pki.tsa_root.pem()]).validated_at == stamped


def test_a_trusted_timestamp_from_after_the_expiry_does_not_help(pki):
    stamped = pki.expired.cert.not_valid_after_utc + timedelta(days=1)
    signature = sign_cades(pki.expired, DATA, tsa=pki.tsa, timestamp_at=stamped)
    assert refusal(signature, pki=pki, timestamp_authorities=[pki.tsa.der()]) == "certificate_expired"


def test_a_trusted_timestamp_dates_a_signature_whose_certificate_is_still_valid(pki):
    now = wall_now()
    stamped = now - timedelta(hours=1)
    signature = sign_cades(pki.citizen, DATA, tsa=pki.tsa, timestamp_at=stamped)
    info = verify(signature, pki=pki, now=now, timestamp_authorities=[pki.tsa.der()])
    assert (info.signing_time, info.signing_time_source, info.validated_at) == (stamped, "signature_timestamp", now)


@pytest.mark.parametrize("configured", [pytest.param("other", id="another-tsa"), pytest.param("none", id="no-tsa")])
def test_a_timestamp_from_a_tsa_not_configured_is_no_proof(pki, configured):
    stamped = pki.expired.cert.not_valid_after_utc - timedelta(days=1)
    signature = sign_cades(pki.expired, DATA, tsa=pki.rogue_tsa, timestamp_at=stamped)
    authorities = [pki.tsa.der()] if configured == "other" else []
    assert refusal(signature, pki=pki, timestamp_authorities=authorities) == "timestamp_untrusted"


def test_a_certificate_of_a_configured_tsa_ca_without_the_time_stamping_usage_is_no_proof(pki):
    stamped = pki.expired.cert.not_valid_after_utc - timedelta(days=1)
    signature = sign_cades(pki.expired, DATA, tsa=pki.tsa_without_time_stamping, timestamp_at=stamped)
    assert refusal(signature, pki=pki, timestamp_authorities=[pki.tsa_root.der()]) == "timestamp_untrusted"


def test_a_timestamp_taken_from_another_signature_is_refused(pki):
    """A trusted token over some other signature value (its imprint) proves nothing about this one."""
    stamped = pki.expired.cert.not_valid_after_utc - timedelta(days=1)
    donor = sign_cades(pki.expired, DATA + b"other", tsa=pki.tsa, timestamp_at=stamped)
    signature = with_timestamp_of(sign_cades(pki.expired, DATA), donor)
    assert refusal(signature, pki=pki, timestamp_authorities=[pki.tsa.der()]) == "timestamp_invalid"


def test_a_timestamp_dated_before_the_registration_document_existed_is_refused(pki):
    stamped = pki.expired.cert.not_valid_after_utc - timedelta(days=1)
    signature = sign_cades(pki.expired, DATA, tsa=pki.tsa, timestamp_at=stamped)
    assert refusal(signature, pki=pki, timestamp_authorities=[pki.tsa.der()],
                   document_created_at=stamped + timedelta(hours=1)) == "timestamp_invalid"


def test_a_timestamp_attribute_holding_no_timestamp_makes_the_signature_malformed(pki):
    signature = asn1_cms.ContentInfo.load(sign_cades(pki.citizen, DATA))
    not_a_token = asn1_cms.ContentInfo.load(sign_detached(pki.citizen, b"other"))
    signature["content"]["signer_infos"][0]["unsigned_attrs"] = asn1_cms.CMSAttributes([
        asn1_cms.CMSAttribute({"type": "signature_time_stamp_token", "values": [not_a_token]})])
    assert refusal(signature.dump(force=True), pki=pki, timestamp_authorities=[pki.tsa.der()]) == "signature_invalid"


@pytest.mark.parametrize("tsa", ["rogue_tsa", "transplanted"])
def test_a_timestamp_that_proves_nothing_is_ignored_while_the_certificate_is_valid(pki, tsa):
    """An unsigned attribute anyone can add: it never makes a valid signature fail."""
    now = wall_now()
    if tsa == "rogue_tsa":
        signature = sign_cades(pki.citizen, DATA, tsa=pki.rogue_tsa, timestamp_at=now - timedelta(hours=1))
    else:
        donor = sign_cades(pki.citizen, DATA + b"other", tsa=pki.tsa, timestamp_at=now - timedelta(hours=1))
        signature = with_timestamp_of(sign_cades(pki.citizen, DATA), donor)
    info = verify(signature, pki=pki, now=now, timestamp_authorities=[pki.tsa.der()])
    assert (info.signing_time, info.signing_time_source, info.timestamp_authority) == (now, "verification_time", None)


# --- revocation against the operator's CRLs -----------------------------------------------------

def test_a_certificate_revoked_per_a_configured_crl_is_refused(pki):
    signature = sign_detached(pki.revoked, DATA)
    assert refusal(signature, pki=pki, crls=[pki.revocations]) == "certificate_revoked"


def test_a_certificate_under_a_revoked_ca_is_refused(pki):
    signature = sign_detached(pki.under_revoked_ca, DATA, chain=[pki.revoked_ca])
    assert refusal(signature, pki=pki, crls=[pki.revocations]) == "certificate_revoked"


@pytest.mark.parametrize("pem", [False, True], ids=["der", "pem"])
def test_a_certificate_its_cas_current_crl_does_not_list_is_accepted(pki, pem):
    crl = pki.root.crl([(pki.revoked, wall_now() - timedelta(days=1))], pem=pem)
    assert verify(sign_detached(pki.published, DATA), pki=pki, crls=[crl])


def test_a_certificate_naming_a_crl_the_operator_did_not_configure_is_refused(pki):
    assert refusal(sign_detached(pki.published, DATA), pki=pki, crls=[]) == "revocation_unknown"


@pytest.mark.parametrize("when", ["stale", "not-yet-issued"])
def test_a_crl_that_is_not_current_does_not_count(pki, when):
    now = wall_now()
    this_update = now - timedelta(days=3) if when == "stale" else now + timedelta(hours=1)
    crl = pki.root.crl([], this_update=this_update, next_update=this_update + timedelta(days=1))
    assert refusal(sign_detached(pki.published, DATA), pki=pki, crls=[crl]) == "revocation_unknown"


def test_a_crl_signed_by_another_key_does_not_count(pki):
    """A CRL bearing the CA's name but not its signature (pyHanko checks it) clears nobody."""
    impostor = make_root_ca("Test Root CA")
    crl = impostor.crl([])
    assert refusal(sign_detached(pki.revoked, DATA), pki=pki, crls=[crl]) == "revocation_unknown"


def test_a_certificate_revoked_before_its_upload_is_refused_despite_an_earlier_timestamp(pki):
    """Still valid at the upload: validated then, so any revocation until then counts."""
    stamped = wall_now() - timedelta(days=3)
    signature = sign_cades(pki.revoked, DATA, tsa=pki.tsa, timestamp_at=stamped)
    assert refusal(signature, pki=pki, crls=[pki.revocations], timestamp_authorities=[pki.tsa.der()]) \
        == "certificate_revoked"


def test_an_expired_certificate_revoked_before_its_timestamp_is_refused(pki):
    stamped = pki.expired_published.cert.not_valid_after_utc - timedelta(days=1)
    crl = pki.root.crl([(pki.expired_published, stamped - timedelta(days=1))])
    signature = sign_cades(pki.expired_published, DATA, tsa=pki.tsa, timestamp_at=stamped)
    assert refusal(signature, pki=pki, crls=[crl], timestamp_authorities=[pki.tsa.der()]) == "certificate_revoked"


def test_an_expired_certificate_with_a_timestamp_needs_a_current_crl_too(pki):
    stamped = pki.expired_published.cert.not_valid_after_utc - timedelta(days=1)
    stale = pki.root.crl([], this_update=stamped - timedelta(hours=1), next_update=stamped + timedelta(hours=1))
    signature = sign_cades(pki.expired_published, DATA, tsa=pki.tsa, timestamp_at=stamped)
    assert refusal(signature, pki=pki, crls=[stale], timestamp_authorities=[pki.tsa.der()]) == "revocation_unknown"


def test_an_expired_certificate_revoked_after_its_timestamp_counts(pki):
    """ETSI EN 319 102-1 §5.5: a signature proven to exist before the revocation stands. The
    window is the document's lifetime: the timestamp cannot predate the sealed document."""
    stamped = pki.expired_published.cert.not_valid_after_utc - timedelta(days=1)
    crl = pki.root.crl([(pki.expired_published, stamped + timedelta(hours=12))])
    signature = sign_cades(pki.expired_published, DATA, tsa=pki.tsa, timestamp_at=stamped)
    assert verify(signature, pki=pki, crls=[crl], timestamp_authorities=[pki.tsa.der()]).validated_at == stamped


def test_a_timestamp_whose_tsa_certificate_is_revoked_is_no_proof(pki):
    tsa = pki.tsa_root.issue_tsa("Revoked Time-Stamping Unit", crl_url="http://crl.example.hu/tsa-root.crl")
    crl = pki.tsa_root.crl([(tsa, wall_now() - timedelta(days=1))])
    stamped = pki.expired.cert.not_valid_after_utc - timedelta(days=1)
    signature = sign_cades(pki.expired, DATA, tsa=tsa, timestamp_at=stamped)
    assert refusal(signature, pki=pki, crls=[crl], timestamp_authorities=[pki.tsa_root.der()]) \
        == "timestamp_untrusted"


# --- the name: Unicode-normalised, case-insensitive, either order -----------------------------

@pytest.mark.parametrize(
    "name",
    [
        pytest.param(("Kovács", "János"), id="as-registered"),
        pytest.param(("KOVÁCS", "jános"), id="other-case"),
        pytest.param((unicodedata.normalize("NFD", "Kovács"), unicodedata.normalize("NFD", "János")), id="decomposed"),
        pytest.param(("  Kovács ", "János"), id="stray-spaces"),
    ],
)
def test_the_registered_name_matches_despite_case_and_unicode_form(pki, name):
    assert verify(sign_detached(pki.citizen, DATA), pki=pki, name=name)


@pytest.mark.parametrize("common_name", ["Kovács János", "János Kovács", "KOVÁCS  JÁNOS"])
def test_a_common_name_in_either_order_matches(pki, common_name):
    signer = pki.root.issue_citizen(*NAME, common_name=common_name, name_attributes=False)
    assert verify(sign_detached(signer, DATA), pki=pki)


def test_the_surname_and_given_name_attributes_match_when_the_common_name_differs(pki):
    signer = pki.root.issue_citizen(*NAME, common_name="Dr. Kovács János")
    assert verify(sign_detached(signer, DATA), pki=pki).common_name == "Dr. Kovács János"


def test_a_common_name_only_certificate_matches(pki):
    info = verify(sign_detached(pki.cn_only, DATA), pki=pki)
    assert (info.family_name, info.given_name) == (None, None)


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(("Kovacs", "Janos"), id="accents-are-letters"),
        pytest.param(("Kovács", "János Péter"), id="another-given-name"),
        pytest.param(("Kovács", ""), id="empty-given-name"),
        pytest.param(("Kovács János", ""), id="whole-name-as-family-name"),
        pytest.param(("Kovács", "Jáno"), id="prefix"),
    ],
)
def test_a_name_that_differs_is_refused(pki, name):
    assert refusal(sign_detached(pki.citizen, DATA), pki=pki, name=name) == "signer_name_mismatch"


def test_swapped_attributes_do_not_match_but_a_swapped_common_name_does(pki):
    """surname=Kovács givenName=János does not prove family "János"; the CN "Kovács János"
    read in the other order does, which is the accepted ambiguity of CN-only matching."""
    assert verify(sign_detached(pki.citizen, DATA), pki=pki, name=("János", "Kovács"))


# --- every reason, named by its code ----------------------------------------------------------

CASES = {
    "signature_invalid": lambda p: dict(signature=b"garbage"),
    "signature_untrusted": lambda p: dict(signature=sign_detached(p.foreigner, DATA)),
    "signing_time_implausible": lambda p: dict(signature=sign_detached(p.citizen, DATA),
                                               now=wall_now() - timedelta(days=1)),
    "certificate_expired": lambda p: dict(signature=sign_detached(p.expired, DATA)),
    "certificate_not_yet_valid": lambda p: dict(signature=sign_detached(p.not_yet_valid, DATA)),
    "certificate_revoked": lambda p: dict(signature=sign_detached(p.revoked, DATA), crls=[p.revocations]),
    "revocation_unknown": lambda p: dict(signature=sign_detached(p.published, DATA)),
    "timestamp_untrusted": lambda p: dict(
        signature=sign_cades(p.expired, DATA, tsa=p.rogue_tsa,
                             timestamp_at=p.expired.cert.not_valid_after_utc - timedelta(days=1)),
        timestamp_authorities=[p.tsa.der()]),
    "timestamp_invalid": lambda p: dict(
        signature=with_timestamp_of(sign_cades(p.expired, DATA), sign_cades(
            p.expired, b"other", tsa=p.tsa, timestamp_at=p.expired.cert.not_valid_after_utc - timedelta(days=1))),
        timestamp_authorities=[p.tsa.der()]),
    "certificate_not_for_signing": lambda p: dict(signature=sign_detached(p.encipher_only, DATA)),
    "signer_name_mismatch": lambda p: dict(signature=sign_detached(p.stranger, DATA)),
}


@pytest.mark.parametrize("reason", list(CASES), ids=list(CASES))
def test_each_refusal_names_its_reason(pki, reason):
    kwargs = CASES[reason](pki)
    assert refusal(kwargs.pop("signature"), pki=pki, **kwargs) == reason


def test_every_declared_reason_is_tested():
    assert set(CASES) == set(REASONS)


def test_a_naive_now_is_a_programming_error(pki):
    with pytest.raises(ValueError):
        verify(sign_detached(pki.citizen, DATA), pki=pki, now=wall_now().replace(tzinfo=None))


def test_a_citizen_certificate_is_no_trust_anchor(pki):
    with pytest.raises(ValueError):
        verify(sign_detached(pki.citizen, DATA), pki=pki, anchors=[pki.citizen.pem()])
