"""What the operator trusts for electronic registration, read from folders at each
registration (idp/accounts/esign_trust.py): the CAs, the time-stamping authorities, and
the CRLs. A file that does not belong in its folder is a configuration error naming it."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest

from idp.accounts.errors import AccountError
from idp.accounts.esign import verify_registration_signature
from idp.accounts.esign_trust import load_crls, load_timestamp_authorities, load_trust_anchors

from ..support.pki import make_root_ca, sign_detached, wall_now, write_anchor

DATA = b"registration\n"
NAME = ("Kiss", "Anna")


@pytest.fixture(scope="module")
def pki():
    root = make_root_ca("Test Root CA")
    intermediate = root.issue_ca("Test Qualified Signing CA")
    tsa_root = make_root_ca("Test TSA Root")
    return SimpleNamespace(
        root=root,
        intermediate=intermediate,
        other_root=make_root_ca("Some Other Root CA"),
        citizen=root.issue_citizen(*NAME),
        via_intermediate=intermediate.issue_citizen(*NAME),
        tsa_root=tsa_root,
        tsa=tsa_root.issue_tsa(),
        not_a_tsa=tsa_root.issue_tsa("Not A Time-Stamping Unit", time_stamping=False),
    )


def verify(signature, anchors):
    return verify_registration_signature(DATA, signature, anchors, NAME, wall_now())


# --- the trusted CAs -----------------------------------------------------------------------------

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
    assert verify(signature, load_trust_anchors(tmp_path)).common_name == "Kiss Anna"


def test_an_empty_folder_trusts_nobody(pki, tmp_path):
    assert load_trust_anchors(tmp_path) == []
    with pytest.raises(AccountError) as refused:
        verify(sign_detached(pki.citizen, DATA), load_trust_anchors(tmp_path))
    assert refused.value.reason == "signature_untrusted"


@pytest.mark.parametrize("load", [load_trust_anchors, load_timestamp_authorities, load_crls])
def test_a_missing_folder_is_a_configuration_error(tmp_path, load):
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "nowhere")


@pytest.mark.parametrize("content", ["citizen", "garbage"])
def test_a_file_that_is_not_a_ca_certificate_is_a_configuration_error(pki, tmp_path, content):
    (tmp_path / "bad.pem").write_bytes(pki.citizen.pem() if content == "citizen" else b"\x00\x01garbage")
    with pytest.raises(ValueError, match="bad.pem"):
        load_trust_anchors(tmp_path)


# --- the trusted time-stamping authorities -------------------------------------------------------

def test_a_tsa_folder_holds_tsa_certificates_and_cas_of_tsas(pki, tmp_path):
    write_anchor(tmp_path, "tsa.pem", pki.tsa)
    write_anchor(tmp_path, "tsa-root.cer", pki.tsa_root, der=True)
    assert sorted(load_timestamp_authorities(tmp_path)) == sorted([pki.tsa.der(), pki.tsa_root.der()])


def test_an_empty_tsa_folder_trusts_no_timestamp(tmp_path):
    assert load_timestamp_authorities(tmp_path) == []


@pytest.mark.parametrize("content", ["citizen", "not_a_tsa", "garbage"])
def test_a_certificate_that_may_not_stamp_time_is_no_tsa(pki, tmp_path, content):
    """A TSA configured as a root is trusted as it is: without the timeStamping usage
    (RFC 3161 §2.3), any key of any certificate dropped here could date signatures."""
    raw = b"\x00garbage" if content == "garbage" else getattr(pki, content).pem()
    (tmp_path / "bad.pem").write_bytes(raw)
    with pytest.raises(ValueError, match="bad.pem"):
        load_timestamp_authorities(tmp_path)


# --- the CRLs -------------------------------------------------------------------------------------

def test_crls_are_read_in_der_and_in_pem(pki, tmp_path):
    now = wall_now()
    der = pki.root.crl([(pki.citizen, now - timedelta(days=1))])
    pem = pki.intermediate.crl([], pem=True)
    (tmp_path / "root.crl").write_bytes(der)
    (tmp_path / "qualified.pem").write_bytes(pem)
    (tmp_path / "notes.txt").write_text("fetched nightly")
    crls = load_crls(tmp_path)
    assert len(crls) == 2 and der in crls


def test_a_stale_crl_is_still_read(pki, tmp_path):
    """Whether a CRL is current is decided at each verification, against its moment."""
    old = wall_now() - timedelta(days=30)
    (tmp_path / "old.crl").write_bytes(pki.root.crl([], this_update=old, next_update=old + timedelta(days=1)))
    assert len(load_crls(tmp_path)) == 1


@pytest.mark.parametrize("content", ["certificate", "garbage"])
def test_a_file_that_is_not_a_crl_is_a_configuration_error(pki, tmp_path, content):
    (tmp_path / "bad.crl").write_bytes(pki.root.der() if content == "certificate" else b"\x00\x01garbage")
    with pytest.raises(ValueError, match="bad.crl"):
        load_crls(tmp_path)
