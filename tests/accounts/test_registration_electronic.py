"""Registration with a digital signature, no office visit (PRODUCT.md rule 1, third channel:
"digitális aláírással ... okmányiroda felkeresése nélkül is regisztrálhat"), through the
lifecycle services.

The provider issues a sealed registration document; the citizen signs it (a detached CMS
signature) and uploads both. The seal is checked first (no field may change after issue,
and the document has a lifetime), then the signature: a certificate chaining to a trusted
CA, valid at the upload or at a trusted timestamp's time, not revoked, naming the person.
Each refusal names its reason and records nothing.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from idp.accounts.errors import AccountError
from idp.accounts.models import Account
from idp.accounts.states import AccountState
from idp.audit import events
from idp.lifecycle import office, registration
from idp.offices.models import Office

from ..support.lifecycle import (
    context, identity_card, make_officer, register_in_person, registration_data,
)
from ..support.pki import make_root_ca, sign_cades, sign_detached, wall_now

CRL_URL = "http://crl.example.hu/test-root.crl"


@pytest.fixture(scope="module")
def pki():
    root = make_root_ca("Test Root CA")
    tsa_root = make_root_ca("Test TSA Root")
    now = wall_now()
    revoked = root.issue_citizen("Kiss", "Anna", crl_url=CRL_URL)
    return {
        "root": root,
        "other_root": make_root_ca("Other Root CA"),
        "citizen": root.issue_citizen("Kiss", "Anna"),
        "expired": root.issue_citizen("Kiss", "Anna", not_before=now - timedelta(days=800),
                                      not_after=now - timedelta(days=10)),
        # ran out two days ago: a document issued before that can still be uploaded now
        "just_expired": root.issue_citizen("Kiss", "Anna", not_before=now - timedelta(days=700),
                                           not_after=now - timedelta(days=2)),
        "stranger": root.issue_citizen("Nagy", "Éva"),
        "revoked": revoked,
        "revocations": root.crl([(revoked, now - timedelta(days=1))]),
        "tsa": tsa_root.issue_tsa(),
        "rogue_tsa": make_root_ca("Rogue TSA Root").issue_tsa("Rogue Time-Stamping Unit"),
    }


@pytest.fixture
def e_ctx(rt, mail, pki):
    return context(rt, mail, trust_anchors=lambda: [pki["root"].der()],
                   timestamp_authorities=lambda: [pki["tsa"].der()])


def accounts_count(db) -> int:
    return db.session.scalar(select(func.count()).select_from(Account))


def issue_document(e_ctx, rt, **data) -> bytes:
    data = {"family_name": "Kiss", "given_name": "Anna", **data}
    return registration.electronic_registration_document(
        e_ctx, registration_data(**data), identity_card(rt.now().date()), rt.now()
    )


def _signed_by(e_ctx, rt, pki, signer: str, **data):
    document = issue_document(e_ctx, rt, **data)
    return document, sign_detached(pki[signer], document)


def refusal(e_ctx, document, signature, now) -> str:
    with pytest.raises(AccountError) as caught:
        registration.register_electronically(e_ctx, document, signature, now)
    return caught.value.reason


def edit_field(document: bytes, key: str, value: str) -> bytes:
    lines = document.decode().split("\n")
    at = next(i for i, line in enumerate(lines) if line.startswith(f"{key}: "))
    lines[at] = f"{key}: {value}"
    return "\n".join(lines).encode()


def test_electronic_registration_with_a_trusted_signature_awaits_activation(e_ctx, rt, db, mail, pki):
    document, signature = _signed_by(e_ctx, rt, pki, "citizen")
    assert "Adatszolgáltatási nyilatkozat".encode() in document
    sheet = registration.register_electronically(e_ctx, document, signature, rt.now())
    account = db.session.get(Account, sheet.account.id)
    assert account.state is AccountState.AWAITING_ACTIVATION
    assert (account.registration_channel, account.verification_method) == ("e_signature", "e_signature")
    assert (account.statement_method, account.statement_version) == ("electronic", rt.settings.policy.statement_version)
    assert account.registering_office_id is None and account.verified_by_officer_id is None
    assert sheet.initial_password and rt.passwords.verify(account.password_hash, sheet.initial_password).ok
    assert len(mail.of("activation_code", account.email)) == 1
    verified = events(db.session, account_id=account.id, event="identity_verified")[0]
    assert verified.actor_kind == "citizen" and verified.details["certificate_sha256"]
    assert verified.details["certificate_validated_at"] == rt.now().isoformat()
    # The evidence verified_claims states: the signing certificate's CA and serial number.
    assert account.signature_certificate_issuer == pki["citizen"].cert.issuer.rfc4514_string()
    assert account.signature_certificate_serial == verified.details["certificate_serial"]


def test_without_a_timestamp_the_statement_counts_as_signed_at_the_upload(e_ctx, rt, db, pki):
    """Not at the signingTime the signer wrote, which agencies would read in verified_claims."""
    document = issue_document(e_ctx, rt)
    signature = sign_cades(pki["citizen"], document, signing_time=rt.now() - timedelta(seconds=30))
    rt.clock.advance(hours=2)
    sheet = registration.register_electronically(e_ctx, document, signature, rt.now())
    account = db.session.get(Account, sheet.account.id)
    assert account.statement_signed_at.replace(tzinfo=None) == rt.now().replace(tzinfo=None)
    recorded = events(db.session, account_id=account.id, event="statement_recorded")[0].details
    assert (recorded["signed_at"], recorded["signed_at_source"]) == (rt.now().isoformat(), "verification_time")
    assert recorded["claimed_signing_time"] == (rt.now() - timedelta(hours=2, seconds=30)).isoformat()


ELECTRONIC_FAILURES = {
    "signature_untrusted": "foreign_ca",
    "certificate_expired": "expired",
    "registration_document_modified": "tampered",
    "signature_invalid": "signature_of_another_document",
    "signer_name_mismatch": "stranger",
    "certificate_revoked": "revoked",
}


@pytest.mark.parametrize("reason", ELECTRONIC_FAILURES, ids=list(ELECTRONIC_FAILURES))
def test_electronic_registration_is_refused_and_records_nothing(reason, e_ctx, rt, db, mail, pki):
    case = ELECTRONIC_FAILURES[reason]
    if case == "foreign_ca":
        document, signature = _signed_by(e_ctx, rt, pki, "citizen")
        e_ctx = dataclasses.replace(e_ctx, trust_anchors=lambda: [pki["other_root"].der()])
    elif case == "tampered":
        document, signature = _signed_by(e_ctx, rt, pki, "citizen")
        document = document.replace(b"Szeged", b"Szolnok", 1)
        signature = sign_detached(pki["citizen"], document)  # the citizen signs what they edited
    elif case == "signature_of_another_document":
        document, _ = _signed_by(e_ctx, rt, pki, "citizen")
        _, signature = _signed_by(e_ctx, rt, pki, "citizen")
    elif case == "revoked":
        document, signature = _signed_by(e_ctx, rt, pki, "revoked")
        e_ctx = dataclasses.replace(e_ctx, crls=lambda: [pki["revocations"]])
    else:
        document, signature = _signed_by(e_ctx, rt, pki, case)
    assert refusal(e_ctx, document, signature, rt.now()) == reason
    assert accounts_count(db) == 0 and mail.sent == []


# -- finding 1: an expired certificate and a backdated registration -------------------------


@pytest.mark.parametrize("how", ["created_at_edited", "signing_time_backdated", "honest"])
def test_an_expired_certificate_cannot_register_however_the_times_are_written(how, e_ctx, rt, db, mail, pki):
    """The proof of concept: a certificate that ran out long ago, a created_at edited back to
    when it was valid, and a signingTime from then too."""
    expired = pki["expired"]
    while_valid = expired.cert.not_valid_after_utc - timedelta(days=30)
    document = issue_document(e_ctx, rt)
    if how == "created_at_edited":
        document = edit_field(document, "created_at", while_valid.isoformat())
    signing_time = while_valid + timedelta(hours=1) if how != "honest" else rt.now()
    signature = sign_cades(expired, document, signing_time=signing_time)
    expected = {
        "created_at_edited": "registration_document_modified",  # before any signature work
        "signing_time_backdated": "signing_time_implausible",  # before the sealed created_at
        "honest": "certificate_expired",  # validated at the upload
    }[how]
    assert refusal(e_ctx, document, signature, rt.now()) == expected
    assert accounts_count(db) == 0 and mail.sent == []


@pytest.mark.parametrize("key,value", [
    ("created_at", "2016-01-01T00:00:00+00:00"),
    ("family_name", "Kis"),
    ("birth_date", "1960-01-01"),
    ("email", "someone.else@example.hu"),
    ("document_number", "654321CD"),
    ("statement_version", "2025-1"),
], ids=lambda v: v if isinstance(v, str) and v.isidentifier() else "")
def test_a_document_edited_after_issue_is_refused_before_its_signature(key, value, e_ctx, rt, db, pki):
    document = edit_field(issue_document(e_ctx, rt), key, value)
    signature = b"not even looked at"
    assert refusal(e_ctx, document, signature, rt.now()) == "registration_document_modified"
    assert accounts_count(db) == 0


def test_a_document_issued_by_another_deployment_is_refused(e_ctx, rt, db, pki):
    from idp.security.sealing import REGISTRATION_DOCUMENT_LABEL, derive_key
    from idp.security.secrets import KeyedDigest

    elsewhere = dataclasses.replace(e_ctx, registration_seal=KeyedDigest(
        derive_key("another-deployment-secret-key-of-32-characters", REGISTRATION_DOCUMENT_LABEL)))
    document, signature = _signed_by(elsewhere, rt, pki, "citizen")
    assert refusal(e_ctx, document, signature, rt.now()) == "registration_document_modified"


@pytest.mark.parametrize("age,accepted", [
    pytest.param(timedelta(days=7) - timedelta(minutes=1), True, id="within-its-lifetime"),
    pytest.param(timedelta(days=7) + timedelta(minutes=1), False, id="older"),
])
def test_a_document_older_than_its_lifetime_is_refused(age, accepted, e_ctx, rt, db, pki):
    assert e_ctx.policy.registration_document_lifetime == timedelta(days=7)
    document, signature = _signed_by(e_ctx, rt, pki, "citizen")
    rt.clock.advance(seconds=age.total_seconds())
    if accepted:
        assert registration.register_electronically(e_ctx, document, signature, rt.now()).identifier
    else:
        assert refusal(e_ctx, document, signature, rt.now()) == "registration_document_expired"
        assert accounts_count(db) == 0


def test_the_document_lifetime_is_a_setting(e_ctx, rt, pki):
    short = dataclasses.replace(e_ctx, policy=dataclasses.replace(e_ctx.policy,
                                                                  registration_document_lifetime=timedelta(days=1)))
    document, signature = _signed_by(short, rt, pki, "citizen")
    rt.clock.advance(days=1, minutes=1)
    assert refusal(short, document, signature, rt.now()) == "registration_document_expired"


# -- a trusted timestamp: a certificate that expired since the signature ---------------------


def _signed_before_expiry(e_ctx, rt, pki, tsa: str):
    """The document issued and signed (with a timestamp) before the certificate ran out two days
    ago; the upload is now."""
    upload = rt.now()
    expiry = pki["just_expired"].cert.not_valid_after_utc
    rt.clock.set(expiry - timedelta(days=1))
    document = issue_document(e_ctx, rt)
    stamped = expiry - timedelta(hours=12)
    signature = sign_cades(pki["just_expired"], document, signing_time=stamped, tsa=pki[tsa], timestamp_at=stamped)
    rt.clock.set(upload)
    return document, signature, stamped


def test_an_expired_certificate_with_a_trusted_timestamp_from_before_its_expiry_registers(e_ctx, rt, db, pki):
    document, signature, stamped = _signed_before_expiry(e_ctx, rt, pki, "tsa")
    sheet = registration.register_electronically(e_ctx, document, signature, rt.now())
    account = db.session.get(Account, sheet.account.id)
    assert account.statement_signed_at.replace(tzinfo=None) == stamped.replace(tzinfo=None)
    verified = events(db.session, account_id=account.id, event="identity_verified")[0].details
    assert verified["certificate_validated_at"] == stamped.isoformat()
    recorded = events(db.session, account_id=account.id, event="statement_recorded")[0].details
    assert recorded["signed_at_source"] == "signature_timestamp"
    assert "Test Time-Stamping Unit" in recorded["timestamp_authority"]


def test_a_timestamp_from_an_untrusted_tsa_does_not_register_an_expired_certificate(e_ctx, rt, db, mail, pki):
    document, signature, _ = _signed_before_expiry(e_ctx, rt, pki, "rogue_tsa")
    assert refusal(e_ctx, document, signature, rt.now()) == "timestamp_untrusted"
    assert accounts_count(db) == 0 and mail.sent == []


def test_with_no_tsa_configured_a_timestamp_proves_nothing(e_ctx, rt, db, pki):
    document, signature, _ = _signed_before_expiry(e_ctx, rt, pki, "tsa")
    untrusting = dataclasses.replace(e_ctx, timestamp_authorities=list)
    assert refusal(untrusting, document, signature, rt.now()) == "timestamp_untrusted"
    assert accounts_count(db) == 0


# -- other refusals ------------------------------------------------------------------------------


def test_a_registration_document_signed_under_an_older_statement_is_refused(e_ctx, rt, pki, db):
    document, signature = _signed_by(e_ctx, rt, pki, "citizen")
    newer = dataclasses.replace(e_ctx, statement_version="2027-1")
    assert refusal(newer, document, signature, rt.now()) == "statement_outdated"
    assert accounts_count(db) == 0


def test_a_document_that_is_not_a_registration_is_refused(e_ctx, rt):
    assert refusal(e_ctx, b"hello", b"\x30\x00", rt.now()) == "registration_document_invalid"


def test_duplicates_are_refused_before_the_citizen_signs(e_ctx, rt, pki):
    register_in_person(rt, e_ctx, username="kiss.anna.e")
    with pytest.raises(AccountError) as caught:
        registration.electronic_registration_document(
            e_ctx, registration_data(username="Kiss.Anna.E"), identity_card(rt.now().date()), rt.now()
        )
    assert caught.value.reason == "username_taken"


def test_without_a_sealing_key_no_document_is_issued(e_ctx, rt):
    with pytest.raises(RuntimeError):
        issue_document(dataclasses.replace(e_ctx, registration_seal=None), rt)


# -- the registering office of an electronic registration (rule 9) ----------------------


def test_an_electronic_registration_belongs_to_the_designated_office_and_only_it_acts(e_ctx, rt, db, pki):
    """Issue 13 (a suspicion, confirmed): an account without a registering office could be changed
    or deleted by any office. Rule 9: the operator's designated office stands as its registering office."""
    home, other = make_officer(rt), make_officer(rt)
    designated = dataclasses.replace(e_ctx, electronic_office_code=db.session.get(Office, home.officer.office_id).code)
    document, signature = _signed_by(designated, rt, pki, "citizen")
    sheet = registration.register_electronically(designated, document, signature, rt.now())
    assert sheet.account.registering_office_id == home.officer.office_id
    with pytest.raises(AccountError) as caught:
        office.delete_account(designated, other.officer, sheet.identifier, rt.now())
    assert caught.value.reason == "not_registering_office"
    office.delete_account(designated, home.officer, sheet.identifier, rt.now())


def test_an_electronic_registration_without_a_designated_office_may_be_changed_by_no_office(e_ctx, rt, pki):
    document, signature = _signed_by(e_ctx, rt, pki, "citizen")
    sheet = registration.register_electronically(e_ctx, document, signature, rt.now())
    with pytest.raises(AccountError) as caught:
        office.change_data(e_ctx, make_officer(rt).officer, sheet.identifier, {"family_name": "Kovács"}, rt.now())
    assert caught.value.reason == "not_registering_office"


def test_a_designated_office_that_does_not_exist_stops_electronic_registration(e_ctx, rt, db, pki):
    document, signature = _signed_by(e_ctx, rt, pki, "citizen")
    wrong = dataclasses.replace(e_ctx, electronic_office_code="NO-SUCH-OFFICE")
    with pytest.raises(AccountError) as caught:
        registration.register_electronically(wrong, document, signature, rt.now())
    assert caught.value.reason == "electronic_registration_unavailable"
    assert accounts_count(db) == 0
