"""Offline access (OpenID Connect Core §11; issue 12, "Decide when an agency may reach their data
while they are away"): a refresh token only when the client is allowed ``offline_access``, asked
for it with ``prompt=consent``, and the citizen ticked it on the consent page; the account page
shows who holds it and withdraws it, revoking the refresh-token family at once."""

from __future__ import annotations

import re

import pytest

from idp.audit import events
from idp.authorizations.models import Consent
from idp.extensions import db

from ..support.cli import run
from ..support.factories import make_client
from ..support.flows import Agency, csrf_of
from ..support.registration import registered_agency

OFFLINE = "openid profile offline_access"


@pytest.fixture
def citizen(citizen):
    citizen.signed_in_quickly()
    return citizen


def consent_page(agency, **params):
    page = agency.visit(**params)
    assert page.status_code == 200 and b'name="decision"' in page.data, page.status_code
    return page


def tokens_after(agency, page, *, tick: bool) -> dict:
    code = agency.code_from(agency.follow(agency.consent(page, offline=tick)))
    response = agency.exchange(code)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_allowed_asked_with_prompt_consent_and_ticked_gives_a_refresh_token(citizen, agency):
    page = consent_page(agency, scope=OFFLINE, prompt="consent")
    body = tokens_after(agency, page, tick=True)
    assert "refresh_token" in body
    assert "offline_access" in body["scope"].split()
    refreshed = agency.refresh(body["refresh_token"])
    assert refreshed.status_code == 200, refreshed.get_json()
    assert "refresh_token" in refreshed.get_json()


def test_the_consent_page_asks_in_words_a_citizen_understands_and_never_ticks_for_them(citizen, agency):
    html = consent_page(agency, scope=OFFLINE, prompt="consent", ui_locales="en").get_data(as_text=True)
    assert "may read my data while I am not signed in, until I withdraw it" in html
    box = re.search(r'<input[^>]*name="offline"[^>]*>', html).group(0)
    assert "checked" not in box


def test_the_hungarian_consent_page_says_it_with_the_article(citizen, agency):
    agency.client.agency = "Demo Adóhivatal"
    db.session.commit()
    html = consent_page(agency, scope=OFFLINE, prompt="consent", ui_locales="hu").get_data(as_text=True)
    assert "A Demo Adóhivatal az alábbi adatokat kéri" in html
    assert "akkor is olvashatja az adataimat, amikor nem vagyok bejelentkezve" in html


def test_not_ticked_gives_no_refresh_token(citizen, agency):
    body = tokens_after(agency, consent_page(agency, scope=OFFLINE, prompt="consent"), tick=False)
    assert "refresh_token" not in body
    assert "offline_access" not in body["scope"].split()
    assert "offline_access" not in db.session.query(Consent).one().scopes.split()


def test_offline_access_without_prompt_consent_is_ignored(citizen, agency):
    body = agency.tokens(scope=OFFLINE)
    assert "refresh_token" not in body
    assert "offline_access" not in body["scope"].split()


def test_not_asked_gives_no_refresh_token_even_to_an_allowed_client(citizen, agency):
    body = agency.tokens(scope="openid profile", prompt="consent")
    assert "refresh_token" not in body


def test_a_client_not_allowed_offline_access_gets_no_refresh_token_and_the_citizen_is_not_asked(citizen, client, rt):
    c, secret = make_client(rt, refresh=False)
    agency = Agency(client, c, secret)
    page = consent_page(agency, scope=OFFLINE, prompt="consent")
    assert b'name="offline"' not in page.data
    body = tokens_after(agency, page, tick=True)  # a forged tick changes nothing
    assert "refresh_token" not in body


def test_offline_access_is_asked_every_time_and_a_consent_without_the_tick_ends_it(citizen, agency):
    first = tokens_after(agency, consent_page(agency, scope=OFFLINE, prompt="consent"), tick=True)
    page = consent_page(agency, scope=OFFLINE, prompt="consent")
    assert b'name="offline"' in page.data
    second = tokens_after(agency, page, tick=False)
    assert "refresh_token" not in second
    assert agency.refresh(first["refresh_token"]).get_json()["error"] == "invalid_grant"


def account_page(citizen):
    response = citizen.http.get("/account", headers={"Accept-Language": "en"})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def withdraw_offline(citizen, client_id: str):
    html = account_page(citizen)
    return citizen.http.post("/account/agencies/offline/withdraw", headers={"Accept-Language": "en"},
                             data={"csrf_token": csrf_of(html), "client_id": client_id})


def test_the_account_page_shows_offline_access_and_withdrawal_revokes_the_family_at_once(citizen, agency, db):
    first = tokens_after(agency, consent_page(agency, scope=OFFLINE, prompt="consent"), tick=True)
    second = agency.refresh(first["refresh_token"]).get_json()
    html = account_page(citizen)
    assert "it may read your data while you are not signed in, until you withdraw it" in html
    assert "End access while I am away" in html

    response = withdraw_offline(citizen, agency.client.client_id)
    assert response.status_code == 303
    html = account_page(citizen)
    assert "can no longer read your data while you are not signed in" in html
    assert "End access while I am away" not in html
    # The family is revoked at once: the access token issued with it (looked at first: a refused
    # refresh grant revokes the family by itself), and the refresh token.
    assert agency.userinfo(second["access_token"]).status_code == 401
    assert agency.refresh(second["refresh_token"]).get_json()["error"] == "invalid_grant"
    assert agency.introspect(second["refresh_token"]).get_json() == {"active": False}
    # What the citizen allowed at sign-in stays: the agency is still listed, and signs in without asking.
    assert agency.client.client_id in html
    assert "offline_access" not in db.session.query(Consent).one().scopes.split()
    again = agency.tokens(scope="openid profile")
    assert agency.userinfo(again["access_token"]).status_code == 200
    assert [e.event for e in events(db.session, account_id=citizen.account.id) if e.event == "offline_access_withdrawn"]


def test_withdrawing_what_is_not_held_is_refused_with_a_message(citizen, agency):
    agency.tokens(scope="openid profile")
    response = withdraw_offline(citizen, agency.client.client_id)
    assert response.status_code == 303
    assert "There is nothing to withdraw" in account_page(citizen)


def test_withdrawing_the_whole_consent_ends_offline_access_too(citizen, agency):
    body = tokens_after(agency, consent_page(agency, scope=OFFLINE, prompt="consent"), tick=True)
    html = account_page(citizen)
    response = citizen.http.post("/account/agencies/withdraw",
                                 data={"csrf_token": csrf_of(html), "client_id": agency.client.client_id})
    assert response.status_code == 303
    assert agency.refresh(body["refresh_token"]).get_json()["error"] == "invalid_grant"


def test_the_operator_allows_and_withdraws_offline_access(app, citizen, client, rt, db):
    c, secret = make_client(rt, refresh=False)
    agency = Agency(client, c, secret, offline=True)
    assert "refresh_token" not in agency.tokens()
    result = run(app, "clients", "offline-access", c.client_id)
    assert result.exit_code == 0, result.output
    db.session.refresh(c)
    assert "offline_access" in c.allowed_scopes.split() and "refresh_token" in c.grant_types
    body = agency.tokens()
    assert "refresh_token" in body
    assert run(app, "clients", "offline-access", c.client_id, "--withdraw").exit_code == 0
    # The refresh_token grant went with it: the refresh token stops at once.
    assert agency.refresh(body["refresh_token"]).get_json()["error"] == "unauthorized_client"
    kinds = [e.event for e in events(db.session)]
    assert "client_offline_allowed" in kinds and "client_offline_withdrawn" in kinds


def test_the_operator_adds_a_client_with_offline_access_and_without_it_by_default(app):
    plain = run(app, "clients", "add", "--name", "NAV", "--redirect-uri", "https://nav.example.hu/cb", "--json")
    offline = run(app, "clients", "add", "--name", "EESZT", "--redirect-uri", "https://eeszt.example.hu/cb",
                  "--offline-access", "--json")
    import json

    plain, offline = json.loads(plain.stdout), json.loads(offline.stdout)
    assert "offline_access" not in plain["scope"].split() and plain["grant_types"] == ["authorization_code"]
    assert "offline_access" in offline["scope"].split() and "refresh_token" in offline["grant_types"]


def test_a_registered_client_gets_offline_access_through_its_scope(client, rt, citizen):
    agency, body = registered_agency(client, rt, scope="openid profile offline_access")
    assert "offline_access" in body["scope"].split()
    assert "refresh_token" in body["grant_types"]
    agency.offline = True
    assert "refresh_token" in agency.tokens()


def test_discovery_names_offline_access(client):
    meta = client.get("/.well-known/openid-configuration").get_json()
    assert "offline_access" in meta["scopes_supported"]
