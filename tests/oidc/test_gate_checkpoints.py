"""Each gate condition at each checkpoint (PRODUCT.md, "The gate before every token").

The authorization endpoint, the code exchange, the refresh, userinfo and
introspection each judge the account again: a citizen who does not (or no
longer) pass the gate gets no code, token or userinfo anywhere, and a citizen
at the authorization endpoint is told what to do. Every case is named by its
reason code.
"""

from __future__ import annotations

import json

import re
from dataclasses import dataclass, field
from datetime import timedelta
from html import unescape
from collections.abc import Callable
from urllib.parse import urlencode

import pytest
from markupsafe import escape
from sqlalchemy import func, select

from idp.accounts.states import AccountState
from idp.authorizations.models import AuthorizationCode
from idp.web import messages

from ..conftest import make_settings
from ..support.factories import PASSWORD, make_account
from ..support.flows import Citizen, csrf_of, query_of

RULE_2009 = {"account_validity_days": 0, "password_max_age_days": 730, "password_renewal_grace_days": 60}
NEW_PASSWORD = "tavaszi szél vizet áraszt 2026"


@dataclass(frozen=True)
class Condition:
    """A gate condition: how to make an account that passes stop passing it."""

    reason: str
    stop: Callable[[object, object], None]
    policy: dict = field(default_factory=dict)
    account: dict = field(default_factory=dict)


def _set(**values):
    def stop(account, rt):
        for name, value in values.items():
            setattr(account, name, value(rt) if callable(value) else value)
    return stop


CONDITIONS = [
    Condition("initial_password", _set(must_change_password=True)),
    Condition("validity_ended", _set(valid_until=lambda rt: rt.now() - timedelta(seconds=1))),
    Condition("account_ended", _set(state=AccountState.DELETED)),
    Condition("not_activated", _set(state=AccountState.AWAITING_ACTIVATION)),
    Condition(
        "password_expired",
        _set(password_changed_at=lambda rt: rt.now() - timedelta(days=731)),
        policy=RULE_2009,
        account={"valid_for": None},
    ),
    Condition(
        "reactivation_required",
        _set(password_changed_at=lambda rt: rt.now() - timedelta(days=730 + 61)),
        policy=RULE_2009,
        account={"valid_for": None},
    ),
]
each_condition = pytest.mark.parametrize("condition", CONDITIONS, ids=[c.reason for c in CONDITIONS])
BY_REASON = {c.reason: c for c in CONDITIONS}


@pytest.fixture
def condition():
    """Overridden by ``each_condition``; None runs under the seed's policy."""
    return None


@pytest.fixture
def settings(database_url, keys_dir, condition):
    return make_settings(database_url, keys_dir, policy=condition.policy if condition else {})


@pytest.fixture
def citizen(client, rt, condition):
    return Citizen(client, rt, make_account(rt, **(condition.account if condition else {})))


def stop(condition, citizen, rt, db):
    condition.stop(citizen.account, rt)
    db.session.commit()


def gate_message(app, reason: str) -> str:
    with app.test_request_context(headers={"Accept-Language": "en"}):
        return str(escape(str(messages.GATE[reason][0])))


def codes_issued(db) -> int:
    return db.session.scalar(select(func.count()).select_from(AuthorizationCode))


# Authorization endpoint: a page that tells what to do, or interaction_required.


@each_condition
def test_authorization_endpoint_shows_what_to_do_and_issues_no_code(condition, citizen, agency, app, rt, db):
    stop(condition, citizen, rt, db)
    citizen.signed_in_quickly()
    page = agency.visit(ui_locales="en")
    assert page.status_code == 200
    assert "Location" not in page.headers
    html = page.get_data(as_text=True)
    assert gate_message(app, condition.reason) in html
    assert 'name="decision"' not in html
    assert codes_issued(db) == 0


@each_condition
def test_authorization_endpoint_prompt_none_is_interaction_required(condition, citizen, agency, rt, db):
    stop(condition, citizen, rt, db)
    citizen.signed_in_quickly()
    response = agency.authorize(prompt="none")
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(agency.redirect_uri)
    params = query_of(location)
    assert params["error"] == "interaction_required"
    assert params["state"] == agency.state
    assert "code" not in params
    assert codes_issued(db) == 0


# Token endpoint: the code was issued while the account passed; then it changed.


@each_condition
def test_code_exchange_is_invalid_grant(condition, citizen, agency, rt, db):
    citizen.signed_in_quickly()
    code = agency.get_code()
    stop(condition, citizen, rt, db)
    response = agency.exchange(code)
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_grant"
    assert "access_token" not in response.get_json()


@each_condition
def test_refresh_is_invalid_grant(condition, citizen, agency, rt, db):
    agency.offline = True  # refresh tokens need offline access (OIDC Core §11)
    citizen.signed_in_quickly()
    tokens = agency.tokens()
    stop(condition, citizen, rt, db)
    response = agency.refresh(tokens["refresh_token"])
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_grant"
    assert "access_token" not in response.get_json()


# Userinfo and introspection: the token is still unexpired, the account no longer passes.


@each_condition
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_userinfo_is_invalid_token(condition, method, citizen, agency, rt, db):
    citizen.signed_in_quickly()
    tokens = agency.tokens()
    assert agency.userinfo(tokens["access_token"], method).status_code == 200
    stop(condition, citizen, rt, db)
    response = agency.userinfo(tokens["access_token"], method)
    assert response.status_code == 401
    assert "invalid_token" in response.headers["WWW-Authenticate"]
    assert "sub" not in (response.get_json(silent=True) or {})


@each_condition
@pytest.mark.parametrize("kind", ["access_token", "refresh_token"])
def test_introspection_is_inactive(condition, kind, citizen, agency, rt, db):
    agency.offline = True  # refresh tokens need offline access (OIDC Core §11)
    citizen.signed_in_quickly()
    tokens = agency.tokens()
    assert agency.introspect(tokens[kind]).get_json()["active"] is True
    stop(condition, citizen, rt, db)
    response = agency.introspect(tokens[kind])
    assert response.status_code == 200
    assert response.get_json() == {"active": False}


SUBSTANTIAL = "http://eidas.europa.eu/LoA/substantial"
ASK_SECOND_FACTOR = {
    "acr_values": {"acr_values": SUBSTANTIAL},
    "essential_acr_claim": {"claims": json.dumps({"id_token": {"acr": {"essential": True, "values": [SUBSTANTIAL]}}})},
}


@pytest.mark.parametrize("ask", ASK_SECOND_FACTOR.values(), ids=[f"acr_insufficient-{k}" for k in ASK_SECOND_FACTOR])
def test_password_alone_does_not_meet_a_second_factor_request(ask, citizen, agency, app, db):
    citizen.signed_in_quickly(amr=("pwd",))
    page = agency.visit(ui_locales="en", **ask)
    assert page.status_code == 200
    assert gate_message(app, "acr_insufficient") in page.get_data(as_text=True)
    silent = query_of(agency.authorize(prompt="none", **ask).headers["Location"])
    assert silent["error"] == "interaction_required"
    assert codes_issued(db) == 0


@pytest.mark.parametrize("ask", ASK_SECOND_FACTOR.values(), ids=list(ASK_SECOND_FACTOR))
def test_second_factor_meets_a_second_factor_request(ask, citizen, agency):
    citizen.signed_in_quickly(amr=("pwd", "otp"))
    assert agency.exchange(agency.get_code(**ask)).status_code == 200


def test_passing_account_reaches_every_checkpoint(citizen, agency):
    agency.offline = True  # refresh tokens need offline access (OIDC Core §11)
    citizen.signed_in_quickly()
    tokens = agency.tokens()
    assert agency.userinfo(tokens["access_token"]).status_code == 200
    assert agency.introspect(tokens["access_token"]).get_json()["active"] is True
    assert agency.refresh(tokens["refresh_token"]).status_code == 200


# The fix: the citizen follows the page's link, changes the password, and comes back.

LINK = re.compile(r'href="(/account/password\?[^"]+)"')


def follow_fix_link(page) -> str:
    match = LINK.search(page.get_data(as_text=True))
    assert match, "the fix page has no link to the password change"
    return unescape(match.group(1))


def change_password_through_form(http, link: str, current: str = PASSWORD):
    form = http.get(link)
    assert form.status_code == 200
    html = form.get_data(as_text=True)
    next_value = unescape(re.search(r'name="next" type="hidden" value="([^"]*)"', html).group(1))
    return http.post("/account/password", data={
        "csrf_token": csrf_of(html), "current_password": current, "new_password": NEW_PASSWORD,
        "confirm_password": NEW_PASSWORD, "next": next_value,
    })


def test_initial_password_changed_then_the_agency_gets_a_code(client, rt, agency, db):
    citizen = Citizen(client, rt, make_account(rt, initial_password=True))
    assert citizen.sign_in().status_code == 303
    page = agency.visit()
    assert page.status_code == 200 and codes_issued(db) == 0
    done = change_password_through_form(client, follow_fix_link(page))
    assert done.status_code == 303
    back = done.headers["Location"]
    assert back.startswith("/interaction/")  # the resume step of the agency's request
    resumed = agency.follow(client.get(back))
    if resumed.status_code == 200 and b'name="decision"' in resumed.data:
        resumed = agency.follow(agency.consent(resumed))
    code = agency.code_from(resumed)
    exchange = agency.exchange(code)
    assert exchange.status_code == 200, exchange.get_json()
    assert citizen.account.must_change_password is False


@pytest.mark.parametrize("condition", [BY_REASON["password_expired"]], ids=["password_expired"])
def test_expired_password_renewed_within_grace_then_the_agency_gets_a_code(condition, client, rt, agency, db):
    citizen = Citizen(client, rt, make_account(rt, valid_for=None, password_age=timedelta(days=740)))
    citizen.signed_in_quickly()
    page = agency.visit()
    assert page.status_code == 200 and codes_issued(db) == 0
    assert change_password_through_form(client, follow_fix_link(page)).status_code == 303
    assert agency.exchange(agency.get_code()).status_code == 200


@pytest.mark.parametrize("condition", [BY_REASON["reactivation_required"]], ids=["reactivation_required"])
def test_beyond_grace_the_page_offers_no_password_change(condition, client, rt, agency):
    citizen = Citizen(client, rt, make_account(rt, valid_for=None, password_age=timedelta(days=800)))
    citizen.signed_in_quickly()
    page = agency.visit()
    assert page.status_code == 200
    assert LINK.search(page.get_data(as_text=True)) is None


@pytest.mark.parametrize("condition", [BY_REASON["reactivation_required"]], ids=["reactivation_required"])
def test_beyond_grace_the_password_cannot_be_renewed_online(condition, client, rt, agency, db):
    """Rule 8 (2009): beyond the grace the citizen must reactivate in person, not by a new password."""
    citizen = Citizen(client, rt, make_account(rt, valid_for=None, password_age=timedelta(days=800)))
    citizen.signed_in_quickly()
    page = agency.visit()
    resume = re.search(r'href="(/interaction/[^"/]+)"', page.get_data(as_text=True)).group(1)
    link = "/account/password?" + urlencode({"next": unescape(resume)})
    assert change_password_through_form(client, link).status_code == 303
    db.session.refresh(citizen.account)
    assert citizen.account.password_changed_at < rt.now() - timedelta(days=730 + 60)
    assert query_of(agency.authorize(prompt="none").headers["Location"])["error"] == "interaction_required"


def test_every_account_reason_has_one_answer_at_every_checkpoint():
    from idp.accounts.gate import ACCOUNT_REASONS
    from idp.oidc.refusals import ERRORS, Checkpoint, error_for

    for checkpoint in Checkpoint:
        assert set(ACCOUNT_REASONS) <= set(ERRORS[checkpoint]), checkpoint
    assert {error_for(Checkpoint.TOKEN, [r]) for r in ACCOUNT_REASONS} == {"invalid_grant"}
    assert {error_for(Checkpoint.USERINFO, [r]) for r in ACCOUNT_REASONS} == {"invalid_token"}
    assert {error_for(Checkpoint.SILENT_AUTHORIZE, [r]) for r in ACCOUNT_REASONS} == {"interaction_required"}
    assert error_for(Checkpoint.TOKEN, []) is None
