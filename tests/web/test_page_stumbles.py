"""Pages a citizen does not stumble on (issue 12): each stumbling point seen on the pages, fixed."""

from __future__ import annotations

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
