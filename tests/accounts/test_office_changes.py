"""Data changes and deletion at the registering office (PRODUCT.md rules 9 and 10).

"az eredeti regisztrációs szerv előtt személyesen": only an officer of the
office that registered the account changes its data or deletes it; each change
is recorded with who, when, which office, before and after, and the citizen is
told by mail. Deletion erases the personal data and ends every session and
token at once, also for a token issued before it.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from idp.accounts.erasure import PERSONAL_COLUMNS
from idp.accounts.errors import AccountError
from idp.accounts.models import Account
from idp.accounts.states import AccountState
from idp.audit import events
from idp.lifecycle import office
from idp.authorizations.models import Consent, Token
from idp.sessions.models import SsoSession

from ..support.flows import Citizen
from ..support.lifecycle import activated, identity_card, make_officer


@pytest.fixture
def home(rt):
    return make_officer(rt)


@pytest.fixture
def stranger(rt):
    return make_officer(rt)


@pytest.fixture
def account(rt, ctx, home):
    account, _password = activated(rt, ctx, home)
    return account


def refused(call) -> str:
    with pytest.raises(AccountError) as caught:
        call()
    return caught.value.reason


def test_an_officer_of_the_registering_office_changes_data_and_each_change_is_recorded(ctx, rt, db, home, account, mail):
    old_email = account.email
    result = office.change_data(
        ctx, home.officer, account.identifier,
        {"family_name": "Szabó", "address_street": "Tisza Lajos körút 2.", "email": "anna.szabo@example.hu",
         "given_name": account.given_name},
        rt.now(),
    )
    assert set(result.changed_fields) == {"family_name", "address_street", "email"}
    db.session.refresh(account)
    assert (account.family_name, account.email, account.email_verified) == ("Szabó", "anna.szabo@example.hu", False)
    [event] = events(db.session, account_id=account.id, event="data_changed")
    assert (event.actor_kind, event.actor, event.office_id, event.at) == (
        "officer", home.officer.username, home.officer.office_id, rt.now())
    assert event.details["changes"]["family_name"] == {"before": "Kiss", "after": "Szabó"}
    assert event.details["changes"]["email"] == {"before": old_email, "after": "anna.szabo@example.hu"}
    told = {s.to for s in mail.of("data_changed")}
    assert told == {old_email, "anna.szabo@example.hu"}
    assert set(mail.of("data_changed")[0].context["changed_fields"]) == set(result.changed_fields)


def test_a_new_document_is_checked_and_recorded(ctx, rt, db, home, account):
    passport = identity_card(rt.now().date(), doc_type="passport", number="BE 7654321")
    office.change_data(ctx, home.officer, account.identifier, {}, rt.now(), document=passport)
    db.session.refresh(account)
    assert (account.document_type, account.document_number) == ("passport", "BE7654321")
    licence = identity_card(rt.now().date(), doc_type="driving_licence", number="CA123456", issued_on=date(2000, 6, 1))
    assert refused(lambda: office.change_data(ctx, home.officer, account.identifier, {}, rt.now(), document=licence)) \
        == "licence_issued_too_early"


def test_an_officer_of_another_office_cannot_change_data(ctx, rt, db, stranger, account, mail):
    before = account.family_name
    reason = refused(lambda: office.change_data(ctx, stranger.officer, account.identifier, {"family_name": "X"}, rt.now()))
    assert reason == "not_registering_office"
    db.session.refresh(account)
    assert account.family_name == before
    assert events(db.session, account_id=account.id, event="data_changed") == []
    assert mail.of("data_changed") == []


def test_an_officer_of_another_office_cannot_delete(ctx, rt, db, stranger, account):
    assert refused(lambda: office.delete_account(ctx, stranger.officer, account.identifier, rt.now())) \
        == "not_registering_office"
    db.session.refresh(account)
    assert account.state is AccountState.ACTIVE and account.email


def test_a_data_change_cannot_make_a_second_account_of_one_person(ctx, rt, db, home, account):
    other, _ = activated(rt, ctx, home)
    same_person = {f: getattr(other, f) for f in (
        "birth_family_name", "birth_given_name", "mother_birth_family_name", "mother_birth_given_name",
        "birth_place", "birth_date")}
    assert refused(lambda: office.change_data(ctx, home.officer, account.identifier, same_person, rt.now())) \
        == "person_has_account"
    assert refused(lambda: office.change_data(ctx, home.officer, account.identifier,
                                              {"username": other.username.upper()}, rt.now())) == "username_taken"
    assert refused(lambda: office.change_data(ctx, home.officer, account.identifier,
                                              {"family_name": account.family_name}, rt.now())) == "nothing_changed"
    assert refused(lambda: office.change_data(ctx, home.officer, account.identifier,
                                              {"email": "nope"}, rt.now())) == "email_invalid"


def test_an_unknown_identifier_is_not_found(ctx, rt, home):
    assert refused(lambda: office.delete_account(ctx, home.officer, "UK-AAAA-BBBB-CCCC", rt.now())) == "account_not_found"


def test_deletion_erases_personal_data_and_keeps_only_the_anonymous_record(ctx, rt, db, home, account, mail):
    identifier, registered_at, email, name = account.identifier, account.registered_at, account.email, account.display_name
    result = office.delete_account(ctx, home.officer, identifier.lower(), rt.now())
    assert result.identifier == identifier
    row = db.session.scalar(select(Account).where(Account.identifier == identifier))
    assert row.state is AccountState.DELETED and row.ended_at == rt.now()
    assert all(getattr(row, column) is None for column in PERSONAL_COLUMNS)
    assert (row.registered_at, row.registering_office_id) == (registered_at, home.officer.office_id)
    [goodbye] = mail.of("account_deleted")
    assert (goodbye.to, goodbye.context["name"]) == (email, name)
    [event] = events(db.session, account_id=row.id, event="account_deleted")
    assert event.office_id == home.officer.office_id
    assert refused(lambda: office.delete_account(ctx, home.officer, identifier, rt.now())) == "account_ended"


def test_the_gate_refuses_an_account_deleted_after_its_token_was_issued(ctx, rt, db, client, agency, home, account):
    agency.offline = True  # refresh tokens need offline access (OIDC Core §11)
    citizen = Citizen(client, rt, account)
    citizen.signed_in_quickly()
    tokens = agency.tokens()
    assert agency.userinfo(tokens["access_token"]).status_code == 200
    assert db.session.scalar(select(Consent).where(Consent.account_id == account.id)) is not None

    office.delete_account(ctx, home.officer, account.identifier, rt.now())

    assert agency.userinfo(tokens["access_token"]).status_code == 401
    refreshed = agency.refresh(tokens["refresh_token"])
    assert refreshed.status_code == 400 and refreshed.get_json()["error"] == "invalid_grant"
    assert agency.introspect(tokens["access_token"]).get_json() == {"active": False}
    assert agency.introspect(tokens["refresh_token"]).get_json() == {"active": False}
    # Every session ended, every token revoked, consents gone, no network trace kept.
    sessions = db.session.scalars(select(SsoSession).where(SsoSession.account_id == account.id)).all()
    assert sessions and all(s.ended_at is not None and s.ip_address == "" for s in sessions)
    assert all(t.revoked_at is not None for t in db.session.scalars(select(Token).where(Token.account_id == account.id)))
    assert db.session.scalar(select(Consent).where(Consent.account_id == account.id)) is None
    # The browser's session is over too: a new authorization asks for sign-in.
    again = agency.authorize()
    assert again.status_code in (302, 303) and "/login" in again.headers["Location"]
