"""The citizen's own data (GDPR Articles 15 and 20; issue 12, "Take their data"): a readable page
and a JSON download, CSRF-safe and never cached, with second-factor methods by name only."""

from __future__ import annotations

import base64
import json
import re

import pytest
from sqlalchemy import select

from idp import audit
from idp.accounts.models import Account
from idp.accounts.passkey_records import Passkey
from idp.extensions import db
from idp.lifecycle.context import citizen_actor

from ..support.authenticator import ORIGIN, Enrolled, SoftAuthenticator
from ..support.flows import csrf_of

EN = {"Accept-Language": "en"}


def download(citizen, token: str | None = None):
    page = citizen.http.get("/account/data", headers=EN)
    data = {"csrf_token": token if token is not None else csrf_of(page.get_data(as_text=True))}
    return citizen.http.post("/account/data", data=data, headers=EN)


def test_the_download_is_a_json_attachment_with_every_part_and_never_cached(citizen, agency):
    secret, codes = citizen.with_second_factor()
    citizen.signed_in_quickly(amr=("pwd", "otp"))
    agency.offline = True
    agency.tokens()
    response = download(citizen)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert ".json" in response.headers["Content-Disposition"]
    assert "no-store" in response.headers["Cache-Control"]
    body = response.get_json()
    account = citizen.account
    assert body["account"]["family_name"] == account.family_name
    assert body["account"]["identifier"] == account.identifier
    assert body["identity_verification"]["document_number"] == account.document_number
    assert body["validity"]["state"] == "active"
    assert body["second_factor"]["methods"][0]["method"] == "otp"
    assert body["second_factor"]["recovery_codes_unused"] == len(codes)
    assert len(body["sessions"]) == 1 and body["sessions"][0]["this_device"] is True
    [allowed] = body["agencies"]
    assert allowed["client_id"] == agency.client.client_id
    assert allowed["offline_access"] is True
    assert "family_name" in allowed["claims"] and "email" in allowed["claims"]
    assert {h["channel"] for h in body["access_history"]} == {"id_token"}
    assert "second_factor_enrolled" in [e["event"] for e in body["audit_events"]]
    # Never a secret: not the TOTP secret, a recovery code, the password or its hash.
    raw = response.get_data(as_text=True)
    stored = db.session.get(Account, account.id)
    for value in (secret, *codes, citizen.password, stored.password_hash, stored.totp_secret_sealed):
        assert value not in raw


def test_the_page_shows_the_same_data_readably(citizen, agency):
    citizen.with_second_factor()
    citizen.signed_in_quickly(amr=("pwd", "otp"))
    agency.tokens()
    response = citizen.http.get("/account/data", headers=EN)
    assert response.status_code == 200
    assert "no-store" in response.headers["Cache-Control"]
    html = response.get_data(as_text=True)
    assert citizen.account.email in html
    assert "Authenticator app" in html
    assert "Ügyfélkapu+ turned on" in html  # the audit event, in words
    assert agency.client.name in html or (agency.client.agency or "") in html
    assert "Name and date of birth" in html  # what the agency may receive, in words
    assert 'action="/account/data"' in html


def test_the_download_needs_the_csrf_token(citizen):
    citizen.signed_in_quickly()
    response = download(citizen, token="forged")
    assert response.status_code in (303, 400)
    assert response.mimetype != "application/json"


def test_the_account_page_links_to_the_data(citizen):
    citizen.signed_in_quickly()
    html = citizen.http.get("/account", headers=EN).get_data(as_text=True)
    assert 'href="/account/data"' in html


def test_signed_out_the_data_is_not_shown(client):
    response = client.get("/account/data")
    assert response.status_code == 303 and "/login" in response.headers["Location"]
    response = client.post("/account/data")
    assert response.status_code in (303, 400)
    assert response.mimetype != "application/json"


def test_the_download_parses_as_utf8_json_with_hungarian_letters(citizen):
    citizen.signed_in_quickly()
    body = json.loads(download(citizen).get_data().decode("utf-8"))
    assert body["format"] == "ugyfelkapu-personal-data/1"
    assert body["account"]["family_name"] == citizen.account.family_name


def test_passkeys_are_listed_by_their_name_never_by_their_key(citizen, db):
    citizen.signed_in_quickly(amr=("pwd", "otp"))
    enrolled = Enrolled(citizen, citizen.rt)
    key = SoftAuthenticator(ORIGIN)
    enrolled.add(key, "Kék biztonsági kulcs")
    stored = db.session.scalars(select(Passkey)).one()
    html = citizen.http.get("/account/data", headers=EN).get_data(as_text=True)
    assert "Passkeys and security keys" in html and "Kék biztonsági kulcs" in html
    response = download(citizen)
    [listed] = response.get_json()["second_factor"]["passkeys"]
    assert listed["name"] == "Kék biztonsági kulcs" and listed["added_at"]
    raw = response.get_data(as_text=True)
    for value in (key.id, stored.credential_id, stored.user_handle, base64.b64encode(stored.public_key).decode()):
        assert value not in raw and value not in html


def test_renewed_recovery_codes_are_shown_in_words(citizen):
    enrolled = Enrolled(citizen, citizen.rt)
    citizen.signed_in_quickly(amr=("pwd", "otp"))
    page = citizen.http.get("/account/second-factor/recovery-codes").get_data(as_text=True)
    response = citizen.http.post("/account/second-factor/recovery-codes", data={
        "csrf_token": csrf_of(page), "current_password": citizen.password, "code": enrolled.code()})
    assert response.status_code == 303
    assert "recovery_codes_issued" in [e["event"] for e in download(citizen).get_json()["audit_events"]]
    html = citizen.http.get("/account/data", headers=EN).get_data(as_text=True)
    assert "New recovery codes issued" in html and "recovery_codes_issued" not in html


#: Every event the lifecycle records about an account (idp/lifecycle: audit.record with the account).
ACCOUNT_EVENTS = (
    "registration_started", "identity_verified", "statement_recorded", "activation_code_issued", "activated",
    "registration_completed", "password_changed", "validity_extended", "reminder_sent", "consent_withdrawn",
    "offline_access_withdrawn", "second_factor_enrolled", "second_factor_replaced", "second_factor_method_changed",
    "second_factor_removed", "authenticator_replacement_started", "recovery_codes_issued", "recovery_code_used",
    "passkey_added", "passkey_removed", "recovery_requested", "recovery_factor_passed", "password_recovered",
    "data_changed", "account_reactivated", "account_deleted", "account_expired", "registration_lapsed",
)


@pytest.mark.parametrize("lang", ("hu", "en"))
def test_every_event_of_the_account_is_shown_in_words_never_by_its_code(citizen, rt, lang):
    citizen.signed_in_quickly()
    for event in ACCOUNT_EVENTS:
        audit.record(db.session, rt.now(), event, citizen_actor(citizen.account), citizen.account.id)
    db.session.commit()
    html = citizen.http.get(f"/account/data?lang={lang}").get_data(as_text=True)
    shown = [s.strip() for s in re.findall(r"<strong>([^<]*)</strong>", html.split('id="data-event-list"')[1])]
    assert len(shown) == len(ACCOUNT_EVENTS)
    assert [s for s in shown if s in ACCOUNT_EVENTS] == []
