"""PRODUCT.md rule 1, third channel: a registration signed with the citizen's certificate
("digitális aláírással ... okmányiroda felkeresése nélkül is regisztrálhat").

The tests make their own CAs and citizens (tests/support/pki.py) once per module.
The PKCS#7 builder stamps signingTime with the wall clock, so ``now`` here is the
wall clock too, and certificates are placed around it.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import unicodedata
from datetime import timedelta
from types import SimpleNamespace

import pytest

from idp.accounts.errors import AccountError
from idp.accounts.esign import REASONS, SignerInfo, load_trust_anchors, verify_registration_signature

from cryptography.hazmat.primitives import serialization

from .support.pki import make_root_ca, sign_detached, wall_now, write_anchor

DATA = "REGISZTRÁCIÓ v1\nfamily_name=Kovács\ngiven_name=János\nbirth_date=1980-02-29\n".encode()
NAME = ("Kovács", "János")


@pytest.fixture(scope="module")
def pki():
    now = wall_now()
    root = make_root_ca("Test Root CA")
    intermediate = root.issue_ca("Test Qualified Signing CA")
    other_root = make_root_ca("Some Other Root CA")
    old_intermediate = root.issue_ca("Retired Signing CA", not_before=now - timedelta(days=400), days=300)
    future_intermediate = root.issue_ca("Future Signing CA", not_before=now + timedelta(days=10))
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
    )


def verify(signature, *, anchors=None, pki=None, data=DATA, name=NAME, now=None, **kwargs) -> SignerInfo:
    anchors = [pki.root.pem()] if anchors is None else anchors
    return verify_registration_signature(data, signature, anchors, name, now or wall_now(), **kwargs)


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
    assert info.signing_time_source == "signed_attribute"
    assert abs(info.signing_time - wall_now()) < timedelta(minutes=1)


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
    assert (info.signing_time, info.signing_time_source) == (now, "verification_time")


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
    assert verify((tmp_path / "registration.p7s").read_bytes(), pki=pki).signing_time_source == "signed_attribute"


# --- the failure cases -------------------------------------------------------------------------

def test_a_signature_from_a_ca_not_configured_is_untrusted(pki):
    assert refusal(sign_detached(pki.foreigner, DATA), pki=pki) == "signature_untrusted"


def test_with_no_trusted_ca_configured_every_signature_is_untrusted(pki):
    assert refusal(sign_detached(pki.citizen, DATA), pki=pki, anchors=[]) == "signature_untrusted"


def test_an_expired_certificate_is_refused(pki):
    assert refusal(sign_detached(pki.expired, DATA), pki=pki) == "certificate_expired"


def test_a_certificate_not_yet_valid_is_refused(pki):
    assert refusal(sign_detached(pki.not_yet_valid, DATA), pki=pki) == "certificate_not_yet_valid"


def test_a_certificate_whose_ca_had_expired_at_signing_time_is_refused(pki):
    signature = sign_detached(pki.under_old_intermediate, DATA, chain=[pki.old_intermediate])
    assert refusal(signature, pki=pki) == "certificate_expired"


def test_a_certificate_whose_ca_was_not_yet_valid_at_signing_time_is_refused(pki):
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


# --- the operator's folder of trusted CAs ------------------------------------------------------

def test_trust_anchors_are_read_from_pem_crt_and_cer_files(pki, tmp_path):
    folder = tmp_path / "trusted-ca"
    write_anchor(folder, "root.pem", pki.root)
    write_anchor(folder, "qualified.crt", pki.intermediate, der=True)
    write_anchor(folder, "other.cer", pki.other_root)
    (folder / "README.txt").write_text("not a certificate")
    (folder / "root.key").write_bytes(b"-----BEGIN PRIVATE KEY-----\n...")
    anchors = load_trust_anchors(folder)
    assert sorted(anchors) == sorted([pki.root.der(), pki.intermediate.der(), pki.other_root.der()])


def test_a_pem_bundle_yields_every_certificate(pki, tmp_path):
    (tmp_path / "bundle.pem").write_bytes(pki.root.pem() + pki.intermediate.pem())
    assert load_trust_anchors(tmp_path) == [pki.root.der(), pki.intermediate.der()]


def test_a_signature_verifies_against_the_anchors_of_a_folder(pki, tmp_path):
    write_anchor(tmp_path, "root.pem", pki.root)
    signature = sign_detached(pki.via_intermediate, DATA, chain=[pki.intermediate])
    assert verify(signature, pki=pki, anchors=load_trust_anchors(tmp_path))


def test_an_empty_folder_trusts_nobody(pki, tmp_path):
    assert load_trust_anchors(tmp_path) == []
    assert refusal(sign_detached(pki.citizen, DATA), pki=pki, anchors=load_trust_anchors(tmp_path)) \
        == "signature_untrusted"


def test_a_missing_folder_is_a_configuration_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_trust_anchors(tmp_path / "nowhere")


@pytest.mark.parametrize("content", ["citizen", "garbage"])
def test_a_file_that_is_not_a_ca_certificate_is_a_configuration_error(pki, tmp_path, content):
    (tmp_path / "bad.pem").write_bytes(pki.citizen.pem() if content == "citizen" else b"\x00\x01garbage")
    with pytest.raises(ValueError, match="bad.pem"):
        load_trust_anchors(tmp_path)
