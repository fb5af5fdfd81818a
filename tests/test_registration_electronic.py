"""Registration with a digital signature, no office visit (PRODUCT.md rule 1, third channel:
"digitális aláírással ... okmányiroda felkeresése nélkül is regisztrálhat"), through the
lifecycle services: a signature that chains to a trusted CA and names the person ends
awaiting activation; each refusal names its reason and records nothing.
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
from idp.lifecycle import registration

from .support.lifecycle import RecordingNotifier, context, identity_card, register_in_person, registration_data
from .support.pki import make_root_ca, sign_detached, wall_now


@pytest.fixture
def mail():
    return RecordingNotifier()


def accounts_count(db) -> int:
    return db.session.scalar(select(func.count()).select_from(Account))


@pytest.fixture(scope="module")
def pki():
    root = make_root_ca("Test Root CA")
    return {
        "root": root,
        "other_root": make_root_ca("Other Root CA"),
        "citizen": root.issue_citizen("Kiss", "Anna"),
        "expired": root.issue_citizen("Kiss", "Anna", not_before=wall_now() - timedelta(days=800),
                                      not_after=wall_now() - timedelta(days=10)),
        "stranger": root.issue_citizen("Nagy", "Éva"),
    }


@pytest.fixture
def e_ctx(rt, mail, pki):
    return context(rt, mail, trust_anchors=lambda: [pki["root"].der()])


def _signed_by(e_ctx, rt, pki, signer: str, **data):
    data = {"family_name": "Kiss", "given_name": "Anna", **data}
    document = registration.electronic_registration_document(
        e_ctx, registration_data(**data), identity_card(rt.now().date()), rt.now()
    )
    return document, sign_detached(pki[signer], document)


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
    # The evidence verified_claims states: the signing certificate's CA and serial number.
    assert account.signature_certificate_issuer == pki["citizen"].cert.issuer.rfc4514_string()
    assert account.signature_certificate_serial == verified.details["certificate_serial"]


ELECTRONIC_FAILURES = {
    "signature_untrusted": ("foreign_ca", {}),
    "certificate_expired": ("expired", {}),
    "signature_invalid": ("tampered", {}),
    "signer_name_mismatch": ("stranger", {}),
}


@pytest.mark.parametrize("reason", ELECTRONIC_FAILURES, ids=list(ELECTRONIC_FAILURES))
def test_electronic_registration_is_refused_and_records_nothing(reason, e_ctx, rt, db, mail, pki):
    case, _ = ELECTRONIC_FAILURES[reason]
    if case == "foreign_ca":
        document, signature = _signed_by(e_ctx, rt, pki, "citizen")
        e_ctx = dataclasses.replace(e_ctx, trust_anchors=lambda: [pki["other_root"].der()])
    elif case == "tampered":
        document, signature = _signed_by(e_ctx, rt, pki, "citizen")
        document = document.replace(b"Szeged", b"Szolnok", 1)
    else:
        document, signature = _signed_by(e_ctx, rt, pki, case)
    with pytest.raises(AccountError) as caught:
        registration.register_electronically(e_ctx, document, signature, rt.now())
    assert caught.value.reason == reason
    assert accounts_count(db) == 0 and mail.sent == []


def test_a_registration_document_signed_under_an_older_statement_is_refused(e_ctx, rt, pki, db):
    document, signature = _signed_by(e_ctx, rt, pki, "citizen")
    newer = dataclasses.replace(e_ctx, statement_version="2027-1")
    with pytest.raises(AccountError) as caught:
        registration.register_electronically(newer, document, signature, rt.now())
    assert caught.value.reason == "statement_outdated"
    assert accounts_count(db) == 0


def test_a_document_that_is_not_a_registration_is_refused(e_ctx, rt):
    with pytest.raises(AccountError) as caught:
        registration.register_electronically(e_ctx, b"hello", b"\x30\x00", rt.now())
    assert caught.value.reason == "registration_document_invalid"


def test_duplicates_are_refused_before_the_citizen_signs(e_ctx, rt, pki):
    register_in_person(rt, e_ctx, username="kiss.anna.e")
    with pytest.raises(AccountError) as caught:
        registration.electronic_registration_document(
            e_ctx, registration_data(username="Kiss.Anna.E"), identity_card(rt.now().date()), rt.now()
        )
    assert caught.value.reason == "username_taken"
