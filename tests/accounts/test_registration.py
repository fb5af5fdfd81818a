"""Registration in its three channels (PRODUCT.md rules 1–5), through the lifecycle services.

Online pre-registration completed at an office, and in person from scratch (the
electronic channel, with a signature that chains to a trusted CA, is in
test_registration_electronic.py). Each ends awaiting activation with a system
identifier, an initial password shown once and an activation code sent by mail;
each refusal names its reason and writes nothing.
"""

from __future__ import annotations

import json
import unicodedata
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from idp.accounts.errors import AccountError
from idp.accounts.models import Account
from idp.accounts.records import ActivationCode
from idp.accounts.states import AccountState
from idp.audit import AuditEvent, events
from idp.lifecycle import office, registration
from idp.security.secrets import digest

from ..support.lifecycle import (
    RecordingNotifier,
    context,
    identity_card,
    make_officer,
    register_in_person,
    registration_data,
)


def accounts_count(db) -> int:
    return db.session.scalar(select(func.count()).select_from(Account))


def event_names(db, account_id) -> list[str]:
    return [e.event for e in reversed(events(db.session, account_id=account_id))]


# -- online pre-registration, completed at an office -----------------------------


def test_online_pre_registration_gets_a_registration_number_and_waits_for_an_office(ctx, rt, db):
    account = registration.pre_register(ctx, registration_data(), rt.now())
    assert account.state is AccountState.PENDING_VERIFICATION
    assert account.registration_number.startswith("R-") and len(account.registration_number) == 10
    assert account.password_hash is None and account.registration_channel == "online"
    for typed in (account.registration_number.lower().replace("-", " "), account.registration_number[2:]):
        assert registration.find_pre_registration(ctx, typed).id == account.id
    assert event_names(db, account.id) == ["registration_started"]


def test_an_officer_completes_a_pre_registration_from_the_document_and_the_signed_statement(ctx, rt, db, mail):
    account = registration.pre_register(ctx, registration_data(), rt.now())
    login = make_officer(rt)
    sheet = registration.complete_registration(
        ctx, login.officer, account.registration_number, identity_card(rt.now().date()), rt.now(), statement_signed=True
    )
    db.session.refresh(account)
    assert account.state is AccountState.AWAITING_ACTIVATION
    assert sheet.identifier == account.identifier and account.identifier.startswith("UK-")
    assert account.document_number == "123456AB"  # normalised
    assert (account.verification_method, account.verified_by_officer_id) == ("in_person", login.officer.id)
    assert (account.statement_version, account.statement_method) == (rt.settings.policy.statement_version, "in_person")
    assert account.statement_signed_at == rt.now()
    assert account.registering_office_id == login.officer.office_id
    assert account.must_change_password
    assert event_names(db, account.id) == [
        "registration_started", "identity_verified", "statement_recorded", "registration_completed",
        "activation_code_issued",
    ]
    officer_events = [e for e in events(db.session, account_id=account.id) if e.event != "registration_started"]
    assert {e.office_id for e in officer_events} == {login.officer.office_id}
    [sent] = mail.of("activation_code", account.email)
    assert sent.context["valid_until"] == rt.now() + timedelta(days=5) == sheet.activation_deadline
    code = db.session.scalar(select(ActivationCode).where(ActivationCode.account_id == account.id))
    assert code.code_digest == digest(sent.context["code"])
    assert sheet.mail_sent


def test_an_unknown_registration_number_is_not_found(ctx, rt):
    login = make_officer(rt)
    with pytest.raises(AccountError) as caught:
        registration.complete_registration(
            ctx, login.officer, "R-AAAAAAAA", identity_card(rt.now().date()), rt.now(), statement_signed=True
        )
    assert caught.value.reason == "registration_not_found"


def test_the_statement_must_be_signed_before_the_registration_completes(ctx, rt, db, mail):
    account = registration.pre_register(ctx, registration_data(), rt.now())
    login = make_officer(rt)
    with pytest.raises(AccountError) as caught:
        registration.complete_registration(
            ctx, login.officer, account.registration_number, identity_card(rt.now().date()), rt.now(),
            statement_signed=False,
        )
    assert caught.value.reason == "statement_not_signed"
    db.session.refresh(account)
    assert account.state is AccountState.PENDING_VERIFICATION and account.statement_signed_at is None
    assert mail.sent == []


# -- documents (rule 2) ------------------------------------------------------------

DOCUMENTS = {
    "licence_issued_too_early": dict(doc_type="driving_licence", number="CA123456", issued_on=date(2001, 1, 1)),
    "document_expired": dict(expires_on=None, issued_on=date(2015, 1, 1), doc_type="passport", number="BE1234567"),
    "document_number_invalid": dict(number="12345"),
}


@pytest.mark.parametrize("reason", DOCUMENTS, ids=list(DOCUMENTS))
def test_a_refused_document_leaves_the_pre_registration_waiting(reason, ctx, rt, db, mail):
    account = registration.pre_register(ctx, registration_data(), rt.now())
    login = make_officer(rt)
    fields = dict(DOCUMENTS[reason])
    if reason == "document_expired":
        fields["expires_on"] = rt.now().date() - timedelta(days=1)
    elif "expires_on" not in fields:
        fields["expires_on"] = rt.now().date() + timedelta(days=365)
    with pytest.raises(AccountError) as caught:
        registration.complete_registration(
            ctx, login.officer, account.registration_number, identity_card(rt.now().date(), **fields), rt.now(),
            statement_signed=True,
        )
    assert caught.value.reason == reason
    db.session.refresh(account)
    assert account.state is AccountState.PENDING_VERIFICATION and account.verified_at is None
    assert event_names(db, account.id) == ["registration_started"] and mail.sent == []


def test_a_licence_issued_on_2001_01_02_is_accepted(ctx, rt, db):
    licence = identity_card(rt.now().date(), doc_type="driving_licence", number="ca 123456",
                            issued_on=date(2001, 1, 2), expires_on=rt.now().date() + timedelta(days=30))
    sheet = registration.register_in_person(
        ctx, make_officer(rt).officer, registration_data(), licence, rt.now(), statement_signed=True
    )
    assert (sheet.account.document_type, sheet.account.document_number) == ("driving_licence", "CA123456")


# -- in person, and what the sheet shows --------------------------------------------


def test_in_person_registration_completes_in_one_sitting(ctx, rt, db, mail):
    login = make_officer(rt)
    sheet = register_in_person(rt, ctx, login)
    account = sheet.account
    assert account.state is AccountState.AWAITING_ACTIVATION
    assert account.registration_channel == "in_person" and account.registration_number is None
    assert account.registering_office_id == login.officer.office_id
    assert len(mail.of("activation_code", account.email)) == 1


def test_the_initial_password_is_shown_once_and_stored_only_as_a_hash(ctx, rt, db, mail):
    sheet = register_in_person(rt, ctx)
    password = sheet.initial_password
    assert len(password) >= 15 and password not in repr(sheet)
    account = db.session.get(Account, sheet.account.id)
    assert account.password_hash.startswith("$argon2id$")
    assert rt.passwords.verify(account.password_hash, password).ok
    row = {c.name: getattr(account, c.name) for c in Account.__table__.columns}
    assert not any(password in str(v) for v in row.values())
    trail = json.dumps([e.details for e in db.session.scalars(select(AuditEvent))], ensure_ascii=False)
    assert password not in trail
    assert not any(password in str(s.context) for s in mail.sent)


def test_a_mail_that_fails_is_reported_on_the_sheet_and_a_new_code_can_be_issued(rt, db):
    broken = RecordingNotifier(fail=True)
    ctx = context(rt, broken)
    login = make_officer(rt)
    sheet = register_in_person(rt, ctx, login)
    assert sheet.account.state is AccountState.AWAITING_ACTIVATION and not sheet.mail_sent
    working = RecordingNotifier()
    issued = registration.issue_activation_code(context(rt, working), login.officer, sheet.identifier.lower(), rt.now())
    assert issued.mail_sent and len(working.of("activation_code")) == 1


# -- rule 3: shape and duplicates ----------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("email", "not-an-address", "email_invalid"),
        ("email", "kiss anna@example.hu", "email_invalid"),
        ("email", "anna@localhost", "email_invalid"),
        ("username", "a", "username_invalid"),
        ("username", "with space", "username_invalid"),
        ("username", "", "field_required"),
        ("family_name", "   ", "field_required"),
        ("birth_date", date(2999, 1, 1), "birth_date_invalid"),
        ("address_postal_code", "12", "postal_code_invalid"),
        ("address_country", "Hungary", "country_invalid"),
    ],
    ids=lambda v: v if isinstance(v, str) and v.endswith(("_invalid", "_required")) else None,
)
def test_registration_data_is_checked_field_by_field(field, value, reason, ctx, rt, db):
    with pytest.raises(AccountError) as caught:
        registration.pre_register(ctx, registration_data(**{field: value}), rt.now())
    assert caught.value.reason == reason
    assert caught.value.details["fields"][field] == reason
    assert accounts_count(db) == 0


def test_every_field_problem_is_reported_at_once(ctx, rt):
    with pytest.raises(AccountError) as caught:
        registration.pre_register(ctx, registration_data(email="x", given_name="", username="?"), rt.now())
    assert caught.value.details["fields"] == {"email": "email_invalid", "given_name": "field_required",
                                              "username": "username_invalid"}


def test_international_email_domains_are_accepted(ctx, rt):
    account = registration.pre_register(ctx, registration_data(email="Anna.Kiss@Példa.HU"), rt.now())
    assert account.email == "Anna.Kiss@példa.hu"


@pytest.mark.parametrize(
    "second",
    ["KISS.ANNA", unicodedata.normalize("NFD", "kiss.anna"), "ｋｉｓｓ.ａｎｎａ"],
    ids=["case", "decomposed", "fullwidth"],
)
def test_username_unique_after_unicode_normalisation(second, ctx, rt, db):
    registration.pre_register(ctx, registration_data(username="Kiss.Anna"), rt.now())
    with pytest.raises(AccountError) as caught:
        registration.pre_register(ctx, registration_data(username=second), rt.now())
    assert caught.value.reason == "username_taken"
    assert accounts_count(db) == 1


def test_one_live_account_per_natural_person(ctx, rt, db):
    person = dict(birth_family_name="Kiss", birth_given_name="Anna", mother_birth_family_name="Tóth",
                  mother_birth_given_name="Ilona", birth_place="Szeged", birth_date=date(1980, 5, 1))
    login = make_officer(rt)
    first = register_in_person(rt, ctx, login, **person)
    twin_by_spelling = dict(person, birth_family_name="KISS ", birth_place="szeged")
    for attempt in (
        lambda: registration.pre_register(ctx, registration_data(**twin_by_spelling), rt.now()),
        lambda: register_in_person(rt, ctx, login, **person),
    ):
        with pytest.raises(AccountError) as caught:
            attempt()
        assert caught.value.reason == "person_has_account"
    assert accounts_count(db) == 1
    # A different mother's name is a different person.
    register_in_person(rt, ctx, login, **dict(person, mother_birth_given_name="Erzsébet"))
    # Once the first account is deleted (erased), the person may register again.
    office.delete_account(ctx, login.officer, first.identifier, rt.now())
    again = register_in_person(rt, ctx, login, **person)
    assert again.account.state is AccountState.AWAITING_ACTIVATION


def test_no_initial_password_or_activation_code_reaches_the_logs(rt, db, tmp_path, caplog):
    import logging

    from idp.lifecycle import citizen
    from idp.mail import OutboxMailer  # the real demo backend

    caplog.set_level(logging.DEBUG)
    outbox = OutboxMailer(tmp_path, "ugyfelkapu@example.hu", clock=rt.clock)
    ctx = context(rt, outbox)
    sheet = register_in_person(rt, ctx)
    [mail_file] = list(tmp_path.glob("*.eml"))
    text = mail_file.read_bytes().decode("utf-8", "replace")
    code = next(line.strip() for line in text.splitlines() if len(line.strip()) == 9 and line.strip()[4] == "-")
    citizen.activate(ctx, sheet.username, sheet.initial_password, code, rt.now())
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert sheet.initial_password not in logged and code not in logged
    assert sheet.initial_password not in text
