"""Pages a citizen does not stumble on (issue 12): each stumbling point seen on the pages, fixed."""

from __future__ import annotations

import re

from ..support.factories import make_account
from ..support.flows import Agency, Citizen

EN = {"Accept-Language": "en"}
HU = {"Accept-Language": "hu"}


def test_the_access_history_names_every_claim_in_words_never_a_claim_url(client, rt):
    from ..support.factories import make_client

    citizen = Citizen(client, rt, make_account(rt, is_test=True))
    citizen.signed_in_quickly()
    c, secret = make_client(rt)
    agency = Agency(client, c, secret)
    agency.tokens(scope="openid profile")
    english = client.get("/account", headers=EN).get_data(as_text=True)
    hungarian = client.get("/account", headers=HU).get_data(as_text=True)
    assert "https://ugyfelkapu.gov.hu/claims" not in english
    assert "https://ugyfelkapu.gov.hu/claims" not in hungarian
    assert "That this is a test account" in english
    assert "Annak jelzése, hogy ez tesztfiók" in hungarian
    assert "Name and date of birth" in english and "Név és születési idő" in hungarian


def test_no_doubled_full_stop_after_an_abbreviation_or_a_hungarian_date(client, rt, db):
    from datetime import timedelta

    from idp.offices.service import create_office

    from ..support.flows import csrf_of

    office = create_office(db.session, rt.now(), "BP-XI-09", "Kormányablak, Budapest XI.")
    account = make_account(rt, valid_for=timedelta(days=10))
    account.registering_office_id = office.id
    db.session.commit()
    citizen = Citizen(client, rt, account)
    citizen.signed_in_quickly()
    for headers in (HU, EN):
        html = client.get("/account", headers=headers).get_data(as_text=True)
        assert "Budapest XI.." not in html and "Budapest XI." in html
    page = client.get("/account/validity", headers=HU).get_data(as_text=True)
    client.post("/account/validity", data={"csrf_token": csrf_of(page)}, headers=HU)
    html = client.get("/account/validity", headers=HU).get_data(as_text=True)
    assert "meghosszabbítottuk" in html or "meghosszabbít" in html
    assert ".." not in html.replace("...", "")


def test_the_registration_page_refuses_markup_and_over_long_names_with_a_message(app, client):
    from ..support.console import field_error, field_problem_text, follow, personal_form, submit
    from ..support.lifecycle import registration_data

    form = {**personal_form(registration_data()), "given_name": "Béla<b>x</b>", "family_name": "K" * 300}
    html = follow(client, submit(client, "/register", form)).get_data(as_text=True)
    assert field_problem_text(app, "name_characters") in field_error(html, "given_name")
    assert field_problem_text(app, "name_too_long") in field_error(html, "family_name")
    assert 'maxlength="100"' not in html, "the browser must not cut a pasted name silently"


def test_an_empty_activation_form_says_to_fill_in_the_fields_and_counts_no_attempt(app, client, rt):
    from ..support.console import field_error, field_problem_text, reason_text, submit

    refused = submit(client, "/activate", {"username": "", "initial_password": "", "code": ""})
    html = refused.get_data(as_text=True)
    for name in ("username", "initial_password", "code"):
        assert field_problem_text(app, "field_required") in field_error(html, name)
    assert reason_text(app, "activation_failed") not in html


def test_the_password_page_asks_for_the_current_password_unless_activation_just_proved_it(client, rt, db):
    from ..support.console import outbox_code, submit
    from ..support.lifecycle import context, register_in_person

    sheet = register_in_person(rt, context(rt, notifier=rt.mailer))
    submit(client, "/activate", {"username": sheet.username, "initial_password": sheet.initial_password,
                                 "code": outbox_code(rt, sheet.account.email)})
    assert 'id="current_password"' not in client.get("/account/password").get_data(as_text=True)
    # Half an hour on, the initial password is asked again.
    rt.clock.advance(seconds=31 * 60)
    page = client.get("/account/password")
    assert page.status_code == 303 or 'id="current_password"' in page.get_data(as_text=True)


def test_an_initial_password_signed_in_otherwise_is_asked_for(client, rt):
    citizen = Citizen(client, rt, make_account(rt, initial_password=True))
    citizen.signed_in_quickly()
    assert 'id="current_password"' in client.get("/account/password").get_data(as_text=True)


def test_a_signed_in_citizen_always_gives_the_current_password(client, rt):
    citizen = Citizen(client, rt, make_account(rt))
    citizen.signed_in_quickly()
    assert 'id="current_password"' in client.get("/account/password").get_data(as_text=True)


def test_every_registration_problem_shows_at_once_in_one_summary_in_form_order(app, client, rt):
    import re

    from ..support.console import field_error, field_problem_text, follow, personal_form, reason_text, submit
    from ..support.lifecycle import registration_data

    taken = make_account(rt)
    form = {**personal_form(registration_data()), "username": taken.username, "family_name": "",
            "address_postal_code": "12"}
    html = follow(client, submit(client, "/register", form)).get_data(as_text=True)
    assert reason_text(app, "username_taken") in (field_error(html, "username") or "")
    assert field_problem_text(app, "field_required") in field_error(html, "family_name")
    summary = re.search(r'<div class="error-summary[^"]*" role="alert"[^>]*>(.*?)</div>', html, re.S).group(1)
    assert "Hiba történt" in summary
    links = re.findall(r'<a href="#([a-z_]+)">', summary)
    assert set(links) >= {"username", "family_name", "address_postal_code"}
    order = ["family_name", "given_name", "birth_family_name", "birth_given_name", "mother_birth_family_name",
             "mother_birth_given_name", "birth_place", "birth_country", "birth_date", "address_postal_code",
             "address_locality", "address_street", "address_country", "email", "username"]
    inputs = re.findall(r'<input id="([a-z_]+)"', html)
    assert links == [i for i in inputs if i in links], "the summary follows the form's order"
    assert all(name in order for name in links)
    assert html.count('class="error-summary') == 1


def test_the_english_summary_says_there_is_a_problem(client):
    from ..support.console import submit

    html = submit(client, "/activate", {"username": "", "initial_password": "", "code": ""},
                  headers=EN).get_data(as_text=True)
    assert "There is a problem" in html


def test_sign_out_everywhere_asks_first_and_looks_like_a_warning(client, rt):
    import re

    from ..support.flows import csrf_of

    citizen = Citizen(client, rt, make_account(rt))
    citizen.signed_in_quickly()
    account_html = client.get("/account", headers=EN).get_data(as_text=True)
    assert 'href="/account/sessions/end-all"' in account_html
    assert 'name="sid" value="all"' not in account_html, "no one-click sign-out everywhere"
    page = client.get("/account/sessions/end-all", headers=EN)
    html = page.get_data(as_text=True)
    assert re.search(r'<button type="submit" class="warning" id="confirm-sign-out-everywhere">', html)
    assert 'class="warning-text"' in html
    done = client.post("/account/sessions/end", data={"csrf_token": csrf_of(html), "sid": "all"})
    assert done.headers["Location"] == "/signed-out"


def test_office_deletion_is_a_warning_and_the_sheet_notice_is_a_notice(client, rt):
    import re

    from idp.lifecycle import registration

    from ..support.console import sign_in_officer
    from ..support.lifecycle import context, identity_card, make_officer, registration_data

    login = make_officer(rt)
    sheet = registration.register_in_person(context(rt), login.officer, registration_data(),
                                            identity_card(rt.now().date()), rt.now(), statement_signed=True)
    assert sign_in_officer(client, rt, login).headers["Location"] == "/office/"
    delete = client.get(f"/office/accounts/{sheet.account.identifier}/delete").get_data(as_text=True)
    assert re.search(r'<button type="submit" class="warning" id="confirm-delete">', delete)
    assert 'class="warning-text"' in delete
    from pathlib import Path

    template = (Path(__file__).resolve().parents[2] / "templates" / "office" / "sheet.html").read_text("utf-8")
    notice = next(line for line in template.splitlines() if "shown only on this page, this once" in line)
    assert 'class="notice' in notice and "flash-error" not in notice and 'role="alert"' not in notice


def test_a_licence_refused_for_its_date_also_says_its_expiry_date_is_missing(app, client, rt):
    from datetime import date

    from ..support.console import document_form, field_error, follow, personal_form, reason_text, submit
    from ..support.lifecycle import identity_card, registration_data

    licence = identity_card(rt.now().date(), doc_type="driving_licence", number="CA123456",
                            issued_on=date(2000, 5, 1), expires_on=None)
    form = {**personal_form(registration_data()), **document_form(licence)}
    html = follow(client, submit(client, "/register/electronic", form)).get_data(as_text=True)
    assert field_error(html, "document_issued_on") == reason_text(app, "licence_issued_too_early",
                                                                  issued_after="2001-01-01")
    assert field_error(html, "document_expires_on") == reason_text(app, "document_expiry_missing",
                                                                   doc_type="driving_licence")


def test_the_expiry_date_is_marked_required_exactly_for_the_types_that_need_it(client):
    import re

    html = client.get("/register/electronic").get_data(as_text=True)
    options = dict(re.findall(r'<option value="([a-z_]+)"[^>]*data-expiry-required="(true|false)"', html))
    assert options == {"identity_card": "false", "passport": "true", "driving_licence": "true"}
    assert 'id="document_expires_on-optional"' in html
    assert "document_form.js" in html


def test_dates_are_one_text_field_whose_hint_matches_what_it_accepts(client, db):
    from sqlalchemy import select

    from idp.accounts.models import Account

    from ..support.console import personal_form, submit
    from ..support.lifecycle import registration_data

    html = client.get("/register", headers=HU).get_data(as_text=True)
    assert 'type="date"' not in html, "no browser date control with its own (mm/dd/yyyy) format"
    assert "például 1985. 04. 12. vagy 1985-04-12" in html
    data = registration_data()
    form = {**personal_form(data), "birth_date": data.birth_date.strftime("%Y. %m. %d.")}
    response = submit(client, "/register", form)
    assert response.headers["Location"].startswith("/register/number")
    account = db.session.scalar(select(Account).where(Account.username == data.username))
    assert account.birth_date == data.birth_date


def test_turning_off_ugyfelkapu_plus_asks_first_and_says_what_goes_with_it(client, rt):
    from ..support.console import submit

    citizen = Citizen(client, rt, make_account(rt))
    citizen.with_second_factor()
    citizen.signed_in_quickly(amr=("pwd", "otp"))
    html = client.get("/account/second-factor", headers=EN).get_data(as_text=True)
    assert 'value="off"' not in html, "no turning off in one go with the other changes"
    assert re.search(r'<a class="button" id="turn-off" href="/account/second-factor/off">', html)
    page = client.get("/account/second-factor/off", headers=EN).get_data(as_text=True)
    warning = re.search(r'<p class="warning-text" id="off-warning">([^<]+)</p>', page)
    assert warning and "passkeys and recovery codes are removed" in warning.group(1)
    assert re.search(r'<button type="submit" class="warning" id="confirm-turn-off" aria-describedby="off-warning">', page)
    assert '<input type="hidden" name="action" value="off">' in page
    # A wrong password leads back to the warning, and Ügyfélkapu+ stays on.
    refused = submit(client, "/account/second-factor/off", {"action": "off", "current_password": "wrong", "code": "000000"},
                     action="/account/second-factor/change")
    assert refused.headers["Location"] == "/account/second-factor/off"
    assert client.get("/account/second-factor/off").status_code == 200, "still on: its off page is still there"
