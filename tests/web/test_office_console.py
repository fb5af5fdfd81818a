"""The office console's pages (rules 2, 4, 5, 9, 10) through the Flask test client: the guard on
the whole blueprint, the officer's sign-in with password and TOTP, verification of a
pre-registration and registration in person ending on the sheet shown once, and data changes
and deletion only at the registering office. The rules themselves are tested on the services;
here, that each page calls them and shows each refusal at its input."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from idp.accounts.models import Account
from idp.accounts.states import AccountState
from idp.accounts.validity import is_reactivation_due
from idp.audit import events
from idp.lifecycle import registration
from idp.offices.models import Office

from ..conftest import make_settings
from ..support.console import (
    document_form,
    field_error,
    field_problem_text,
    follow,
    personal_form,
    read_sheet,
    reason_text,
    sign_in_officer,
    submit,
    text_of,
)
from ..support.factories import make_account
from ..support.flows import csrf_of
from ..support.lifecycle import context, identity_card, make_office, make_officer, registration_data


@pytest.fixture
def settings(database_url, keys_dir, tmp_path):
    return make_settings(database_url, keys_dir, mail={"outbox_dir": str(tmp_path / "outbox")})


@pytest.fixture
def login(rt):
    return make_officer(rt)


@pytest.fixture
def console(client, rt, login):
    """The test client with ``login``'s officer signed in to the console."""
    assert sign_in_officer(client, rt, login).headers["Location"] == "/office/"
    return client


def pre_registered(rt, **data) -> Account:
    return registration.pre_register(context(rt), registration_data(**data), rt.now())


def verify(console, number: str, document, statement: bool = True):
    data = document_form(document)
    if statement:
        data["statement_signed"] = "y"
    return submit(console, f"/office/registrations/{number}", data)


# -- the guard -------------------------------------------------------------------------------

GUARDED = [
    ("GET", "/office/"),
    ("GET", "/office/register"),
    ("GET", "/office/sheet"),
    ("GET", "/office/registrations/R-ABCD2345"),
    ("GET", "/office/accounts/UK-ABCD-EFGH-JKLM"),
    ("GET", "/office/accounts/UK-ABCD-EFGH-JKLM/delete"),
    ("POST", "/office/registrations"),
    ("POST", "/office/accounts"),
    ("POST", "/office/accounts/UK-ABCD-EFGH-JKLM"),
    ("POST", "/office/accounts/UK-ABCD-EFGH-JKLM/delete"),
    ("POST", "/office/accounts/UK-ABCD-EFGH-JKLM/activation-code"),
    ("POST", "/office/accounts/UK-ABCD-EFGH-JKLM/reactivate"),
    ("POST", "/office/sign-out"),
]


@pytest.mark.parametrize(("method", "path"), GUARDED, ids=[f"{m} {p}" for m, p in GUARDED])
def test_every_console_page_needs_a_signed_in_officer(app, client, method, path):
    app.config["WTF_CSRF_ENABLED"] = False  # the guard, not the CSRF check, must stop a POST
    response = client.open(path, method=method, data={})
    assert response.status_code == 303
    assert response.headers["Location"] == "/office/sign-in"


def test_a_citizen_session_opens_no_console_page(client, rt, citizen):
    citizen.signed_in_quickly()
    assert client.get("/office/").headers["Location"] == "/office/sign-in"


def test_console_forms_refuse_a_post_without_csrf_token(console):
    assert console.post("/office/registrations", data={"number": "R-ABCD2345"}).status_code == 400


# -- sign-in -----------------------------------------------------------------------------------


def test_sign_in_page_has_labelled_inputs_and_a_one_time_code_field(client):
    html = client.get("/office/sign-in").get_data(as_text=True)
    for name, token in (("username", "username"), ("password", "current-password"), ("code", "one-time-code")):
        assert f'<label for="{name}">' in html
        assert f'id="{name}" name="{name}"' in html and f'autocomplete="{token}"' in html
    assert 'inputmode="numeric"' in html


def test_officer_signs_in_with_password_and_totp_and_out_again(console, rt, login, db):
    home = console.get("/office/")
    assert home.status_code == 200 and login.officer.display_name in text_of(home)
    assert [e.event for e in events(db.session)] == ["officer_signed_in"]
    signed_out = submit(console, "/office/", {}, action="/office/sign-out")
    assert signed_out.headers["Location"] == "/office/sign-in"
    assert console.get("/office/").headers["Location"] == "/office/sign-in"


@pytest.mark.parametrize("wrong", ["code", "password"])
def test_wrong_totp_or_password_is_refused_with_one_reason(app, client, rt, login, wrong):
    right = login.code(rt)
    code = right if wrong == "password" else f"{(int(right) + 1) % 1_000_000:06d}"
    if wrong == "password":
        login.password = "not the officer's password"
    refused = sign_in_officer(client, rt, login, code=code)
    assert refused.headers["Location"] == "/office/sign-in"
    page = text_of(client.get("/office/sign-in"))
    assert reason_text(app, "officer_sign_in_failed") in page
    assert login.officer.username in page  # the username is kept, never the password
    assert client.get("/office/").headers["Location"] == "/office/sign-in"


def test_a_totp_code_is_accepted_once(app, client, rt, login):
    code = login.code(rt)
    assert sign_in_officer(client, rt, login, code=code).headers["Location"] == "/office/"
    submit(client, "/office/", {}, action="/office/sign-out")
    replayed = sign_in_officer(client, rt, login, code=code)
    assert replayed.headers["Location"] == "/office/sign-in"
    assert reason_text(app, "officer_sign_in_failed") in text_of(client.get("/office/sign-in"))
    # The next step's code works.
    rt.clock.advance(seconds=30)
    assert sign_in_officer(client, rt, login).headers["Location"] == "/office/"


def test_console_session_ends_after_the_idle_timeout(console, rt):
    rt.clock.advance(seconds=rt.settings.session.idle_seconds + 1)
    assert console.get("/office/").headers["Location"] == "/office/sign-in"
    rt.clock.advance(seconds=1)
    assert console.get("/office/").headers["Location"] == "/office/sign-in"


def test_a_deactivated_officer_is_signed_out_at_the_next_page(console, login, db):
    login.officer.active = False
    db.session.commit()
    assert console.get("/office/").headers["Location"] == "/office/sign-in"


# -- verifying an online pre-registration ---------------------------------------------------


def test_verification_completes_the_pre_registration_and_shows_the_sheet_once(console, rt, db, login):
    account = pre_registered(rt)
    found = submit(console, "/office/", {"number": account.registration_number.lower().replace("-", " ")},
                   action="/office/registrations")
    assert found.headers["Location"] == f"/office/registrations/{account.registration_number}"
    page = text_of(console.get(found.headers["Location"]))
    assert account.family_name in page and account.mother_birth_family_name in page
    assert rt.settings.policy.statement_version in page

    done = verify(console, account.registration_number, identity_card(rt.now().date()))
    assert done.headers["Location"] == "/office/sheet"
    shown = console.get("/office/sheet")
    assert shown.status_code == 200 and shown.headers["Cache-Control"] == "no-store"
    sheet = read_sheet(shown.get_data(as_text=True))
    db.session.expire_all()
    account = db.session.get(Account, account.id)
    assert account.state is AccountState.AWAITING_ACTIVATION
    assert (sheet.identifier, sheet.username) == (account.identifier, account.username)
    assert rt.passwords.verify(account.password_hash, sheet.initial_password).ok
    assert account.registering_office_id == login.officer.office_id
    assert sheet.initial_password not in console.get("/office/sheet").get_data(as_text=True)
    assert console.get("/office/sheet").status_code == 410


def test_unknown_registration_number_is_shown_at_its_field(app, console):
    refused = submit(console, "/office/", {"number": "R-ZZZZ9999"}, action="/office/registrations")
    assert refused.headers["Location"] == "/office/"
    html = console.get("/office/").get_data(as_text=True)
    assert field_error(html, "number") == reason_text(app, "registration_not_found")
    assert 'value="R-ZZZZ9999"' in html


def test_missing_statement_checkbox_is_refused_at_the_checkbox(app, console, rt, db):
    account = pre_registered(rt)
    refused = verify(console, account.registration_number, identity_card(rt.now().date()), statement=False)
    html = follow(console, refused).get_data(as_text=True)
    assert field_error(html, "statement_signed") == reason_text(app, "statement_not_signed")
    assert 'value="123456 ab"' in html, "the document typed is kept"
    db.session.expire_all()
    assert db.session.get(Account, account.id).state is AccountState.PENDING_VERIFICATION


#: reason -> (the input it is shown at, the document's changes from a valid identity card, message values)
DOCUMENT_REFUSALS = {
    "document_expired": ("document_expires_on", lambda today: {"expires_on": today - timedelta(days=1)}, {}),
    "licence_issued_too_early": (
        "document_issued_on",
        lambda today: {"doc_type": "driving_licence", "number": "CA123456", "issued_on": date(2001, 1, 1)},
        {},
    ),
    "document_number_invalid": ("document_number", lambda today: {"number": "12AB"}, {"example": "123456AB"}),
    "document_expiry_missing": (
        "document_expires_on", lambda today: {"doc_type": "passport", "number": "BE1234567", "expires_on": None}, {},
    ),
}


@pytest.mark.parametrize("reason", DOCUMENT_REFUSALS)
def test_a_refused_document_is_shown_at_its_field(app, console, rt, db, reason):
    field, changes, values = DOCUMENT_REFUSALS[reason]
    today = rt.now().date()
    account = pre_registered(rt)
    refused = verify(console, account.registration_number, identity_card(today, **changes(today)))
    html = follow(console, refused).get_data(as_text=True)
    assert field_error(html, field) == reason_text(app, reason, **values)
    db.session.expire_all()
    assert db.session.get(Account, account.id).state is AccountState.PENDING_VERIFICATION


def test_a_licence_issued_2001_01_02_is_accepted(console, rt):
    account = pre_registered(rt)
    licence = identity_card(rt.now().date(), doc_type="driving_licence", number="CA123456", issued_on=date(2001, 1, 2))
    assert verify(console, account.registration_number, licence).headers["Location"] == "/office/sheet"


def test_a_missing_date_of_issue_is_shown_at_its_field(app, console, rt):
    account = pre_registered(rt)
    data = {**document_form(identity_card(rt.now().date())), "document_issued_on": "", "statement_signed": "y"}
    html = follow(console, submit(console, f"/office/registrations/{account.registration_number}", data)).get_data(
        as_text=True
    )
    assert field_problem_text(app, "field_required") in field_error(html, "document_issued_on")


# -- registering in person, from scratch ---------------------------------------------------


def test_registration_in_person_ends_on_the_sheet(console, rt, db, login):
    data = registration_data()
    form = {**personal_form(data), **document_form(identity_card(rt.now().date())), "statement_signed": "y"}
    done = submit(console, "/office/register", form)
    sheet = read_sheet(follow(console, done).get_data(as_text=True))
    account = db.session.scalar(select(Account).where(Account.identifier == sheet.identifier))
    assert account.state is AccountState.AWAITING_ACTIVATION and account.username == data.username
    assert account.registering_office_id == login.officer.office_id


def test_registration_in_person_shows_every_field_problem_and_keeps_the_rest(app, console, rt, db):
    data = registration_data()
    form = {**personal_form(data), **document_form(identity_card(rt.now().date())), "statement_signed": "y",
            "family_name": "", "email": "not-an-address"}
    html = follow(console, submit(console, "/office/register", form)).get_data(as_text=True)
    assert field_problem_text(app, "field_required") in field_error(html, "family_name")
    assert field_problem_text(app, "email_invalid") in field_error(html, "email")
    assert field_error(html, "given_name") is None
    assert f'value="{data.given_name}"' in html
    assert 'autocomplete="family-name"' not in html, "an officer's browser must not offer the officer's own data"
    assert db.session.scalar(select(Account).where(Account.username == data.username)) is None


def test_a_second_account_for_the_same_person_is_refused(app, console, rt):
    first = pre_registered(rt)
    twin = registration_data(
        birth_family_name=first.birth_family_name, birth_given_name=first.birth_given_name,
        mother_birth_family_name=first.mother_birth_family_name,
        mother_birth_given_name=first.mother_birth_given_name,
        birth_place=first.birth_place, birth_date=first.birth_date,
    )
    form = {**personal_form(twin), **document_form(identity_card(rt.now().date())), "statement_signed": "y"}
    page = text_of(follow(console, submit(console, "/office/register", form)))
    assert reason_text(app, "person_has_account") in page


# -- an existing account: only the registering office changes or deletes ----------------------


def _office_of(db, login) -> Office:
    return db.session.get(Office, login.officer.office_id)


def registered_at(rt, office) -> Account:
    login = make_officer(rt, office)
    sheet = registration.register_in_person(
        context(rt), login.officer, registration_data(), identity_card(rt.now().date()), rt.now(), statement_signed=True
    )
    return sheet.account


def test_an_officer_of_another_office_is_refused_with_the_reason_and_sees_no_data(app, console, rt, db):
    account = registered_at(rt, make_office(rt))
    page = console.get(f"/office/accounts/{account.identifier}")
    assert page.status_code == 403
    text = text_of(page)
    assert reason_text(app, "not_registering_office") in text
    for private in (account.family_name, account.email, account.mother_birth_family_name):
        assert private not in text
    assert 'name="family_name"' not in text and "/delete" not in text

    # The services refuse too, whatever is posted.
    changed = console.post(f"/office/accounts/{account.identifier}", data={
        "csrf_token": csrf_of(page.get_data(as_text=True)), **personal_form(registration_data())})
    assert reason_text(app, "not_registering_office") in text_of(follow(console, changed))
    deleted = console.post(f"/office/accounts/{account.identifier}/delete",
                           data={"csrf_token": csrf_of(page.get_data(as_text=True))})
    assert reason_text(app, "not_registering_office") in text_of(follow(console, deleted))
    assert console.get(f"/office/accounts/{account.identifier}/delete").status_code == 303
    db.session.expire_all()
    refreshed = db.session.get(Account, account.id)
    assert refreshed.state is AccountState.AWAITING_ACTIVATION and refreshed.family_name == account.family_name


def test_the_registering_office_changes_the_data_and_the_citizen_is_told(console, rt, db, login):
    account = registered_at(rt, _office_of(db, login))
    found = submit(console, "/office/", {"identifier": account.identifier.lower()}, action="/office/accounts")
    assert found.headers["Location"] == f"/office/accounts/{account.identifier}"
    page = console.get(found.headers["Location"])
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and f'value="{account.family_name}"' in html  # prefilled
    form = {**personal_form(registration_data()), "family_name": "Szabó"}
    for name in ("username", "given_name", "birth_family_name", "birth_given_name", "mother_birth_family_name",
                 "mother_birth_given_name", "birth_place", "birth_date", "email"):
        form[name] = getattr(account, name).isoformat() if name == "birth_date" else getattr(account, name)
    changed = console.post(found.headers["Location"], data={"csrf_token": csrf_of(html), **form})
    assert changed.headers["Location"] == found.headers["Location"]
    db.session.expire_all()
    assert db.session.get(Account, account.id).family_name == "Szabó"
    event = events(db.session, account_id=account.id)[0]
    assert event.event == "data_changed" and event.details["changes"]["family_name"]["after"] == "Szabó"


def test_nothing_changed_is_said(app, console, rt, db, login):
    account = registered_at(rt, _office_of(db, login))
    page = console.get(f"/office/accounts/{account.identifier}")
    html = page.get_data(as_text=True)
    form = {k: v for k, v in personal_form(registration_data()).items()}
    for name in form:
        value = getattr(account, name)
        form[name] = value.isoformat() if hasattr(value, "isoformat") else value
    unchanged = console.post(f"/office/accounts/{account.identifier}", data={"csrf_token": csrf_of(html), **form})
    assert reason_text(app, "nothing_changed") in text_of(follow(console, unchanged))


def test_deletion_asks_for_confirmation_then_erases(console, rt, db, login):
    account = registered_at(rt, _office_of(db, login))
    confirm = console.get(f"/office/accounts/{account.identifier}/delete")
    assert confirm.status_code == 200 and account.identifier in text_of(confirm)
    db.session.expire_all()
    assert db.session.get(Account, account.id).state is AccountState.AWAITING_ACTIVATION, "a GET deletes nothing"
    deleted = console.post(f"/office/accounts/{account.identifier}/delete",
                           data={"csrf_token": csrf_of(confirm.get_data(as_text=True))})
    assert deleted.headers["Location"] == "/office/"
    db.session.expire_all()
    gone = db.session.get(Account, account.id)
    assert gone.state is AccountState.DELETED and gone.family_name is None


def test_a_new_activation_code_can_be_sent_from_the_account_page(console, rt, db, login):
    account = registered_at(rt, _office_of(db, login))
    page = console.get(f"/office/accounts/{account.identifier}")
    sent = console.post(f"/office/accounts/{account.identifier}/activation-code",
                        data={"csrf_token": csrf_of(page.get_data(as_text=True))})
    assert sent.headers["Location"] == f"/office/accounts/{account.identifier}"
    assert [e.event for e in events(db.session, account_id=account.id)][0] == "activation_code_issued"


def test_an_unknown_identifier_is_shown_at_its_field(app, console):
    refused = submit(console, "/office/", {"identifier": "UK-NONE-NONE-NONE"}, action="/office/accounts")
    html = follow(console, refused).get_data(as_text=True)
    assert field_error(html, "identifier") == reason_text(app, "account_not_found")


class TestReactivationUnderThe2009Rule:
    """A password expired beyond the renewal grace is renewed in person: a new initial password."""

    @pytest.fixture
    def settings(self, database_url, keys_dir, tmp_path):
        return make_settings(database_url, keys_dir, mail={"outbox_dir": str(tmp_path / "outbox")},
                             policy={"account_validity_days": 0, "password_max_age_days": 730})

    def test_reactivation_shows_a_new_initial_password_once(self, console, rt, db, login):
        account = make_account(rt, valid_for=None, password_age=timedelta(days=730 + 61),
                               registering_office_id=login.officer.office_id)
        page = console.get(f"/office/accounts/{account.identifier}")
        assert 'action="/office/accounts/' + account.identifier + '/reactivate"' in page.get_data(as_text=True)
        done = console.post(f"/office/accounts/{account.identifier}/reactivate", data={
            "csrf_token": csrf_of(page.get_data(as_text=True)), **document_form(identity_card(rt.now().date()))})
        sheet = read_sheet(follow(console, done).get_data(as_text=True))
        db.session.expire_all()
        renewed = db.session.get(Account, account.id)
        assert sheet.identifier == account.identifier and renewed.must_change_password
        assert rt.passwords.verify(renewed.password_hash, sheet.initial_password).ok

    @pytest.mark.parametrize(
        ("password_age", "initial_password", "due"),
        [
            pytest.param(730 + 59, False, False, id="not_due-within_the_grace"),
            pytest.param(730 + 60, False, True, id="due-at_the_end_of_the_grace"),
            pytest.param(730 + 400, True, False, id="not_due-initial_password"),
        ],
    )
    def test_the_page_offers_reactivation_exactly_when_it_is_due(
        self, console, rt, db, login, password_age, initial_password, due
    ):
        account = make_account(rt, valid_for=None, password_age=timedelta(days=password_age),
                               initial_password=initial_password, registering_office_id=login.officer.office_id)
        assert is_reactivation_due(account, rt.now(), rt.policy) is due
        page = console.get(f"/office/accounts/{account.identifier}").get_data(as_text=True)
        assert ('action="/office/accounts/' + account.identifier + '/reactivate"' in page) is due


# -- the sheet is shown once, on its own page, and not after the console session (finding 6) -------


FORM_COOKIE = "idp_form"


def _registered_in_person(console, rt):
    form = {**personal_form(registration_data()), **document_form(identity_card(rt.now().date())), "statement_signed": "y"}
    done = submit(console, "/office/register", form)
    assert done.headers["Location"] == "/office/sheet"
    return console.get_cookie(FORM_COOKIE).value


def test_a_replayed_earlier_cookie_does_not_show_the_initial_password_again(console, rt):
    """Security finding 6: "shown once" was kept only by rewriting the cookie."""
    earlier = _registered_in_person(console, rt)
    sheet = read_sheet(console.get("/office/sheet").get_data(as_text=True))
    console.set_cookie(FORM_COOKIE, earlier, domain="localhost")
    again = console.get("/office/sheet")
    assert again.status_code == 410
    assert sheet.initial_password not in again.get_data(as_text=True)


def test_the_office_sheet_does_not_open_on_the_electronic_registration_page(console, rt):
    _registered_in_person(console, rt)
    assert console.get("/register/electronic/sheet").status_code == 410
    assert console.get("/office/sheet").status_code == 200, "the console's own page still shows it, once"


def test_a_sheet_not_yet_shown_is_gone_once_the_console_session_times_out(console, rt, login):
    """The next person at a shared office terminal must not open it, with the cookie or by signing in."""
    earlier = _registered_in_person(console, rt)
    rt.clock.advance(seconds=rt.settings.session.idle_seconds + 1)
    assert console.get("/office/sheet").headers["Location"] == "/office/sign-in"
    rt.clock.advance(seconds=30)  # a new TOTP step for the next sign-in
    assert sign_in_officer(console, rt, login).headers["Location"] == "/office/"
    assert console.get("/office/sheet").status_code == 410
    console.set_cookie(FORM_COOKIE, earlier, domain="localhost")
    assert console.get("/office/sheet").status_code in (303, 410)
