"""Issue 12's "pages a citizen does not stumble on", each in Chromium: what the citizen sees and what
happens when they type, click and submit (tests/web/test_page_stumbles.py checks the same points
through Flask's test client). One provider serves the whole module; every test makes its own accounts,
so none sees another's.

The points, in the issue's order: dates, errors, activation, the access history, wording,
destructive actions, the office document form, names. Reflow at 320 and 390 px (point 5) is checked
for every page, a filled /account included, by tests/browser/test_accessibility.py; the expiry date
marked required per document type by tests/browser/test_browser_selfservice.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from idp.accounts import assurance
from idp.accounts.passkey_records import Passkey
from idp.accounts.service import find_by_username
from idp.accounts.states import AccountState
from idp.app import create_app
from idp.authorizations import releases
from idp.clock import FixedClock
from idp.extensions import db
from idp.oidc.claims import TEST_ACCOUNT_CLAIM
from idp.security import totp
from idp.sessions import service as sessions

from ..conftest import _empty_tables, make_settings
from ..support import browser as bw
from ..support.console import field_problem_text, outbox_code, reason_text
from ..support.factories import PASSWORD, make_account, make_client
from ..support.flows import Citizen, pkce_pair, sessions_of
from ..support.lifecycle import NEW_PASSWORD, context, make_office, make_officer, register_in_person
from ..support.live import free_port, serving

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(bw.skip_reason() is not None, reason=bw.skip_reason() or ""),
]

CITIZEN = {
    "family_name": "Varga", "given_name": "Zsófia",
    "birth_family_name": "Varga", "birth_given_name": "Zsófia",
    "mother_birth_family_name": "Fekete", "mother_birth_given_name": "Ilona",
    "birth_date": "1991. 06. 03.", "birth_place": "Pécs",
    "address_postal_code": "7621", "address_locality": "Pécs", "address_street": "Király utca 12.",
}
SUBMIT = "main form.card button[type=submit].primary"


@dataclass
class Site:
    base: str
    app: object
    rt: object

    def url(self, path: str) -> str:
        return self.base + path


@pytest.fixture(scope="module")
def site(_schema, database_url, keys_dir, tmp_path_factory):
    """The provider on a real local port for the whole module, its mail in an outbox."""
    port = free_port()
    settings = make_settings(database_url, keys_dir, issuer=f"http://127.0.0.1:{port}",
                             mail={"outbox_dir": str(tmp_path_factory.mktemp("outbox"))})
    app = create_app(settings, clock=FixedClock(datetime.now(UTC).replace(microsecond=0)))
    with serving(app, port) as base, app.app_context():
        try:
            yield Site(base, app, app.extensions["idp"])
        finally:
            db.session.remove()
            _empty_tables()
            db.engine.dispose()


# -- what a citizen and an officer do ---------------------------------------------------------


def signed_in(page, site: Site, account, amr=("pwd",)) -> None:
    """A session straight from the service, its cookie in the browser (the sign-in itself is tested elsewhere)."""
    _sso, secret = sessions.start(db.session, account, site.rt.now(), list(amr), assurance.level_for(amr, site.rt.assurance))
    db.session.commit()
    page.context.add_cookies([{"name": site.rt.settings.session_cookie_name, "value": secret, "url": site.base}])


def submit(page, selector: str = SUBMIT) -> None:
    with page.expect_navigation():
        page.locator(selector).first.click()


def officer_signed_in(page, site: Site, office=None):
    """An officer of ``office`` signs in to the console through its form (password and TOTP)."""
    login = make_officer(site.rt, office)
    page.goto(site.url("/office/sign-in?lang=hu"))
    page.fill("#username", login.officer.username)
    page.fill("#password", login.password)
    page.fill("#code", login.code(site.rt))
    submit(page)
    bw.at(page, site.url("/office/"))
    return login


def fill_person(page, values: dict) -> None:
    for name, value in values.items():
        page.fill(f"#{name}", value)


def register_at_console(page, site: Site, n: int) -> None:
    """Register a citizen in person from scratch, dates typed in the hinted ``2020. 03. 15.`` form;
    the page ends on the registration sheet."""
    today = site.rt.now().date()
    page.goto(site.url("/office/register?lang=hu"))
    fill_person(page, {**CITIZEN, "given_name": f"Zsófia{n}", "birth_given_name": f"Zsófia{n}",
                       "email": f"konzol.{n}@example.hu", "username": f"konzol.{n}"})
    page.select_option("#doc_type", "identity_card")
    page.fill("#document_number", "654321 cd")
    page.fill("#document_issued_on", (today - timedelta(days=700)).strftime("%Y. %m. %d."))
    page.fill("#document_expires_on", (today + timedelta(days=1500)).strftime("%Y. %m. %d."))
    page.check("#statement_signed")
    submit(page)
    bw.at(page, site.url("/office/sheet"))
    page.locator("#sheet-initial-password").wait_for()


def main_text(page) -> str:
    return page.locator("main").inner_text()


def error_color(page) -> str:
    return page.evaluate("() => { const s = document.createElement('p'); s.className = 'warning-text';"
                         " document.body.append(s); const c = getComputedStyle(s).borderLeftColor; s.remove(); return c; }")


def looks_like_a_warning(page, selector: str) -> None:
    """The button carries the templates' warning class and is painted in the error colour."""
    button = page.locator(selector)
    assert "warning" in (button.get_attribute("class") or "").split(), selector
    assert button.evaluate("e => getComputedStyle(e).backgroundColor") == error_color(page), selector


# -- 1. dates ------------------------------------------------------------------------------------


def test_dates_are_text_fields_whose_hint_matches_what_they_accept(browsers, site):
    page = browsers()
    page.goto(site.url("/register?lang=hu"))
    birth = page.locator("#birth_date")
    assert birth.evaluate("e => e.type") == "text", "no native mm/dd/yyyy control"
    assert page.locator("input[type=date]").count() == 0
    hint = page.locator(f"#{birth.get_attribute('aria-describedby')}").inner_text()
    assert "1985. 04. 12." in hint and "1985-04-12" in hint, hint
    fill_person(page, {**CITIZEN, "email": "datum.polgar@example.hu", "username": "datum.polgar"})
    submit(page)
    bw.at(page, site.url("/register/number"))
    assert find_by_username(db.session, "datum.polgar").birth_date == date(1991, 6, 3)

    # The office console's dates (birth, document issued and expiring): the same fields, the same forms.
    officer = browsers()
    officer_signed_in(officer, site)
    officer.goto(site.url("/office/register?lang=hu"))
    for name in ("birth_date", "document_issued_on", "document_expires_on"):
        field = officer.locator(f"#{name}")
        assert field.evaluate("e => e.type") == "text", name
        hint = officer.locator(f"#{name}-help").inner_text()
        assert hint.startswith("Év, hónap, nap"), (name, hint)  # the order the text field reads
    assert officer.locator("input[type=date]").count() == 0
    register_at_console(officer, site, 1)
    assert officer.locator("#sheet-username").inner_text().strip() == "konzol.1"
    registered, today = find_by_username(db.session, "konzol.1"), site.rt.now().date()
    assert registered.birth_date == date(1991, 6, 3)
    assert registered.document_issued_on == today - timedelta(days=700)
    assert registered.document_expires_on == today + timedelta(days=1500)


# -- 2. errors -----------------------------------------------------------------------------------


def test_every_problem_at_once_in_one_summary_whose_links_lead_to_the_fields(browsers, site):
    taken = make_account(site.rt)
    page = browsers()
    page.goto(site.url("/register?lang=hu"))
    fill_person(page, {**CITIZEN, "family_name": "", "address_postal_code": "12",
                       "email": "hibas.polgar@example.hu", "username": taken.username})
    submit(page)
    summary = page.locator(".error-summary")
    assert summary.count() == 1
    assert summary.locator("h2").inner_text() == "Hiba történt"
    links = [href[1:] for href in summary.locator("a").evaluate_all("as => as.map(a => a.getAttribute('href'))")]
    assert {"family_name", "address_postal_code", "username"} <= set(links), links
    fields = page.locator("main form input[id], main form select[id]").evaluate_all("es => es.map(e => e.id)")
    assert links == [f for f in fields if f in links], "the summary follows the form's order"
    # The taken username on the first submit, with the other problems, at its field.
    assert reason_text(site.app, "username_taken") in page.locator("#username-error").inner_text()
    assert page.locator("#username").get_attribute("aria-invalid") == "true"
    for name in links:
        page.locator(f'.error-summary a[href="#{name}"]').click()
        assert page.evaluate("() => document.activeElement.id") == name, f"the link to {name} focuses it"

    english = browsers()
    english.goto(site.url("/activate?lang=en"))
    submit(english)
    assert english.locator(".error-summary h2").inner_text() == "There is a problem"


def test_an_empty_form_says_to_fill_in_the_fields_never_wrong_credentials(browsers, site):
    page = browsers()
    page.goto(site.url("/activate?lang=hu"))
    submit(page)
    required = field_problem_text(site.app, "field_required")
    for name in ("username", "initial_password", "code"):
        assert required in page.locator(f"#{name}-error").inner_text(), name
    assert reason_text(site.app, "activation_failed") not in main_text(page)
    assert page.locator(".error-summary a").count() == 3


# -- 3. activation -------------------------------------------------------------------------------


def test_a_wrong_code_keeps_the_rest_and_the_next_page_does_not_ask_the_initial_password_again(browsers, site):
    sheet = register_in_person(site.rt, context(site.rt, notifier=site.rt.mailer))
    page = browsers()
    page.goto(site.url("/activate?lang=hu"))
    page.fill("#username", sheet.username)
    page.fill("#initial_password", sheet.initial_password)
    page.fill("#code", "WRONG-CODE")
    submit(page)
    bw.at(page, site.url("/activate"))
    assert page.locator("#code").get_attribute("aria-invalid") == "true"
    assert page.locator('.error-summary a[href="#code"]').count() == 1
    assert page.locator("#username").input_value() == sheet.username
    assert page.locator("#initial_password").input_value() == sheet.initial_password, "the initial password stays"
    assert page.locator("#code").input_value() == ""

    page.fill("#code", outbox_code(site.rt, sheet.account.email))
    submit(page)
    bw.at(page, site.url("/account/password"))
    assert page.locator("#current_password").count() == 0, "activation proved the initial password a moment ago"
    page.fill("#new_password", NEW_PASSWORD)
    page.fill("#confirm_password", NEW_PASSWORD)
    submit(page)
    db.session.expire_all()
    assert db.session.get(type(sheet.account), sheet.account.id).must_change_password is False


# -- 4. access history ---------------------------------------------------------------------------


def test_the_access_history_names_claims_in_words_in_both_languages(browsers, site):
    account = make_account(site.rt, is_test=True)
    client, _secret = make_client(site.rt, name="Demo Adóhivatal")
    releases.record(db.session, account.id, client.id, releases.USERINFO,
                    ["sub", "name", "family_name", "birthdate", TEST_ACCOUNT_CLAIM], site.rt.now())
    db.session.commit()
    page = browsers()
    signed_in(page, site, account)
    for lang, words in (("hu", ("Annak jelzése, hogy ez tesztfiók", "Név és születési idő")),
                        ("en", ("That this is a test account", "Name and date of birth"))):
        page.goto(site.url(f"/account?lang={lang}"))
        history = page.locator("#history-list").inner_text()
        assert "Demo Adóhivatal" in history
        for word in words:
            assert word in history, (lang, word, history)
        assert "https://" not in history and "claims/" not in main_text(page), lang


# -- 6. wording ----------------------------------------------------------------------------------


def no_doubled_stop(text: str) -> bool:
    return re.search(r"(?<!\.)\.\.(?!\.)", text) is None


def test_no_doubled_full_stops_and_the_hungarian_consent_takes_its_article(browsers, site):
    office = make_office(site.rt, name="Kormányablak, Budapest XI.")
    account = make_account(site.rt, valid_for=timedelta(days=10))
    account.registering_office_id = office.id
    db.session.commit()
    page = browsers()
    signed_in(page, site, account)
    for lang in ("hu", "en"):
        page.goto(site.url(f"/account?lang={lang}"))
        text = main_text(page)
        assert "Budapest XI." in text and no_doubled_stop(text), (lang, text)
    page.goto(site.url("/account/validity?lang=hu"))
    submit(page, "#extend")
    text = main_text(page)
    assert re.search(r"\d{4}\. \w+ \d{1,2}\.", text), text  # a Hungarian ordinal date is on the page
    assert no_doubled_stop(text), text

    officer = browsers()
    officer_signed_in(officer, site, office)
    register_at_console(officer, site, 2)
    text = main_text(officer)
    assert "Budapest XI." in text and no_doubled_stop(text), text

    redirect = "https://agency.example.hu/callback"
    for agency, article in (("Demo Adóhivatal", "A "), ("Országos Nyugdíjbiztosítási Főigazgatóság", "Az ")):
        client, _secret = make_client(site.rt, name=agency, redirect_uri=redirect)
        client.agency = agency
        db.session.commit()
        _verifier, challenge = pkce_pair()
        page.goto(site.url(f"/authorize?response_type=code&client_id={client.client_id}&redirect_uri={redirect}"
                           f"&scope=openid+profile&state=s&nonce=n&code_challenge={challenge}"
                           "&code_challenge_method=S256&lang=hu"))
        bw.at(page, bw.interaction_page(site.base, "consent"))
        sentence = page.locator("main p", has_text="kéri").first.inner_text()
        assert sentence.startswith(f"{article}{agency} az alábbi adatokat kéri"), sentence


# -- 7. destructive actions ----------------------------------------------------------------------


def test_deletion_at_the_office_asks_first_as_a_warning_and_the_sheet_notice_is_a_notice(browsers, site):
    office = make_office(site.rt)
    account = make_account(site.rt)
    account.registering_office_id = office.id
    db.session.commit()
    page = browsers()
    officer_signed_in(page, site, office)
    page.goto(site.url(f"/office/accounts/{account.identifier}?lang=hu"))
    with page.expect_navigation():
        page.click("#delete-account")
    bw.at(page, site.url(f"/office/accounts/{account.identifier}/delete"))
    looks_like_a_warning(page, "#confirm-delete")
    assert page.locator(".warning-text").is_visible()
    db.session.expire_all()
    assert db.session.get(type(account), account.id).state == AccountState.ACTIVE, "nothing happens before confirming"
    submit(page, "#confirm-delete")
    bw.at(page, site.url("/office/"))
    db.session.expire_all()
    assert db.session.get(type(account), account.id).state == AccountState.DELETED

    # The once-only initial password on the sheet: a notice to print now, not an error.
    register_at_console(page, site, 3)
    notice = page.locator("main .notice")
    assert notice.count() == 1 and notice.get_attribute("role") == "note"
    assert "flash-error" not in notice.get_attribute("class")
    assert page.locator("main [role=alert]").count() == 0
    assert notice.evaluate("e => getComputedStyle(e).borderLeftColor") != error_color(page)


def test_sign_out_everywhere_asks_first_as_a_warning(browsers, site):
    account = make_account(site.rt)
    sessions.start(db.session, account, site.rt.now(), ["pwd"], "low")  # another device
    db.session.commit()
    page = browsers()
    signed_in(page, site, account)
    page.goto(site.url("/account?lang=hu"))
    with page.expect_navigation():
        page.click("#sign-out-everywhere")
    bw.at(page, site.url("/account/sessions/end-all"))
    looks_like_a_warning(page, "#confirm-sign-out-everywhere")
    assert page.locator(".warning-text").is_visible()
    db.session.expire_all()
    assert [s.ended_at for s in sessions_of(db, account)] == [None, None], "nothing happens before confirming"
    submit(page, "#confirm-sign-out-everywhere")
    bw.at(page, site.url("/signed-out"))
    db.session.expire_all()
    assert [s.ended_at is not None for s in sessions_of(db, account)] == [True, True]


def test_removing_a_passkey_asks_first_as_a_warning(browsers, site):
    account = make_account(site.rt)
    secret, _codes = Citizen(None, site.rt, account).with_second_factor()
    passkey = Passkey(account_id=account.id, credential_id="Y3JlZGVudGlhbA", public_key=b"\x00", user_handle="h",
                      name="Laptop", created_at=site.rt.now())
    db.session.add(passkey)
    db.session.commit()
    page = browsers()
    signed_in(page, site, account, amr=("pwd", "otp"))
    page.goto(site.url("/account/second-factor?lang=hu"))
    with page.expect_navigation():
        page.locator(f"a[href*='/passkeys/{passkey.id}/remove']").click()
    assert page.locator(".card.warning").is_visible()
    looks_like_a_warning(page, "#confirm-remove-passkey")
    db.session.expire_all()
    assert db.session.get(Passkey, passkey.id) is not None, "nothing happens before confirming"
    page.fill("#current_password", PASSWORD)
    page.fill("#code", totp.code_at(secret, site.rt.now()))
    submit(page, "#confirm-remove-passkey")
    bw.at(page, site.url("/account/second-factor"))
    db.session.expire_all()
    assert db.session.scalars(select(Passkey).where(Passkey.account_id == account.id)).all() == []


def test_turning_off_ugyfelkapu_plus_asks_first_as_a_warning(browsers, site):
    account = make_account(site.rt)
    secret, _codes = Citizen(None, site.rt, account).with_second_factor()
    page = browsers()
    signed_in(page, site, account, amr=("pwd", "otp"))
    page.goto(site.url("/account/second-factor?lang=hu"))
    with page.expect_navigation():
        page.click("#turn-off")
    bw.at(page, site.url("/account/second-factor/off"))
    warning = page.locator("#off-warning")
    said = bw.words(site.app, "hu", "Warning: without Ügyfélkapu+ your password alone signs you in, agencies that "
                    "require a second factor will refuse you, and your passkeys and recovery codes are removed.")
    assert warning.is_visible() and said in warning.inner_text()  # the passkeys and recovery codes go
    looks_like_a_warning(page, "#confirm-turn-off")
    db.session.expire_all()
    assert db.session.get(type(account), account.id).has_second_factor, "nothing happens before confirming"
    page.fill("#current_password", PASSWORD)
    page.fill("#code", totp.code_at(secret, site.rt.now()))
    submit(page, "#confirm-turn-off")
    bw.at(page, site.url("/account/second-factor"))
    db.session.expire_all()
    assert not db.session.get(type(account), account.id).has_second_factor


# -- 8. the office document form -----------------------------------------------------------------


def test_a_licence_refused_for_its_date_also_shows_its_missing_expiry_date(browsers, site):
    """The expiry date marked required per type is tests/browser/test_browser_selfservice.py's; here
    the licence's date-rule refusal shows whatever else is missing, on the first submit."""
    page = browsers()
    page.goto(site.url("/register/electronic?lang=hu"))
    fill_person(page, {**CITIZEN, "email": "jogositvany@example.hu", "username": "jogositvany"})
    page.select_option("#doc_type", "driving_licence")
    assert page.locator("#document_expires_on").evaluate("e => e.required") is True
    page.fill("#document_number", "CA123456")
    page.fill("#document_issued_on", "2000. 05. 01.")
    submit(page)
    bw.at(page, site.url("/register/electronic"))
    issued = reason_text(site.app, "licence_issued_too_early", issued_after="2001-01-01")
    missing = reason_text(site.app, "document_expiry_missing", doc_type="driving_licence")
    assert page.locator("#document_issued_on-error").inner_text() == issued
    assert page.locator("#document_expires_on-error").inner_text() == missing
    links = page.locator(".error-summary a").evaluate_all("as => as.map(a => a.getAttribute('href'))")
    assert links == ["#document_issued_on", "#document_expires_on"], links


# -- 9. names ------------------------------------------------------------------------------------


def test_names_and_addresses_refuse_markup_control_characters_and_over_long_input_at_the_field(browsers, site):
    page = browsers()
    page.goto(site.url("/register?lang=hu"))
    fill_person(page, {**CITIZEN, "given_name": "Béla<b>x</b>", "family_name": "K" * 300,
                       "address_locality": "Szeged\x07", "address_street": "Fő utca 1.\x01", "email": "nevek.polgar@example.hu", "username": "nevek.polgar"})
    assert len(page.locator("#family_name").input_value()) == 300, "the browser does not cut a long name"
    submit(page)
    bw.at(page, site.url("/register"))
    for name, problem in (("given_name", "name_characters"), ("family_name", "name_too_long"),
                          ("address_locality", "place_characters"), ("address_street", "street_characters")):
        assert field_problem_text(site.app, problem) in page.locator(f"#{name}-error").inner_text(), name
        assert page.locator(f'.error-summary a[href="#{name}"]').count() == 1, name
    assert find_by_username(db.session, "nevek.polgar") is None
