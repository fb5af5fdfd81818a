"""RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0; issue 2, "Protocol").

A logout request that is shown genuine (an ``id_token_hint`` this provider
issued for this browser's session) ends the session and returns the citizen to
the agency's registered ``post_logout_redirect_uri``; anything else asks the
citizen first, so a cross-site link cannot sign anyone out.
"""

from __future__ import annotations

import base64
import json
import re
from html import unescape
from urllib.parse import urlencode

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey
from sqlalchemy import select

from idp.sessions.models import SsoSession

from ..support.factories import make_client
from ..support.flows import Agency, Citizen, csrf_of, is_signed_in, query_of

AFTER = "https://agency.example.hu/signed-out"


@pytest.fixture
def agency(client, rt):
    c, secret = make_client(rt, post_logout_redirect_uris=[AFTER])
    return Agency(client, c, secret)


@pytest.fixture
def signed_in(citizen, agency):
    """A citizen signed in through the form, and the tokens an agency got in that session."""
    assert citizen.sign_in().status_code == 303
    agency.offline = True  # refresh tokens need offline access (OIDC Core §11)
    return agency.tokens()


def live_sessions(db) -> list[SsoSession]:
    return list(db.session.scalars(select(SsoSession).where(SsoSession.ended_at.is_(None))))


def end_session(http, method="GET", **params):
    params = {k: v for k, v in params.items() if v is not None}
    if method == "GET":
        return http.get("/end-session?" + urlencode(params))
    return http.post("/end-session", data=params)


def is_confirmation(response) -> bool:
    html = response.get_data(as_text=True)
    return response.status_code == 200 and 'name="confirm"' in html and 'action="/end-session"' in html


def hidden_fields(html: str) -> dict[str, str]:
    return {unescape(n): unescape(v) for n, v in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html)}


# Genuine requests


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_genuine_logout_ends_the_session_and_returns_to_the_agency(method, signed_in, client, agency, db):
    response = end_session(client, method, id_token_hint=signed_in["id_token"],
                           post_logout_redirect_uri=AFTER, state="xyz-123")
    assert response.status_code in (302, 303)
    location = response.headers["Location"]
    assert location.startswith(AFTER + "?")
    assert query_of(location)["state"] == "xyz-123"
    assert not is_signed_in(client)
    assert live_sessions(db) == []


def test_genuine_logout_with_client_id_and_no_state(signed_in, client, agency):
    response = end_session(client, id_token_hint=signed_in["id_token"], client_id=agency.client.client_id,
                           post_logout_redirect_uri=AFTER)
    assert response.status_code == 302
    assert response.headers["Location"] == AFTER
    assert not is_signed_in(client)


@pytest.mark.parametrize("uri", [
    "https://evil.example/after", AFTER + "/", AFTER + "?x=1", AFTER.upper(), "https://agency.example.hu/callback",
])
def test_unregistered_post_logout_redirect_uri_is_not_followed(uri, signed_in, client):
    response = end_session(client, id_token_hint=signed_in["id_token"], post_logout_redirect_uri=uri, state="s")
    assert response.status_code == 200
    assert "Location" not in response.headers
    assert not is_signed_in(client)


def test_client_id_not_matching_the_hint_is_an_error(signed_in, client, rt):
    other, _ = make_client(rt, post_logout_redirect_uris=[AFTER])
    response = end_session(client, id_token_hint=signed_in["id_token"], client_id=other.client_id,
                           post_logout_redirect_uri=AFTER)
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert is_signed_in(client)


# Requests that cannot be shown genuine


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_without_id_token_hint_the_citizen_is_asked(method, signed_in, client, agency, db):
    response = end_session(client, method, client_id=agency.client.client_id, post_logout_redirect_uri=AFTER)
    assert is_confirmation(response)
    assert "Location" not in response.headers
    assert is_signed_in(client)
    assert len(live_sessions(db)) == 1


def test_the_hungarian_question_names_the_agency_with_its_article(signed_in, client, agency, db):
    agency.client.agency = "Országos Nyugdíjbiztosítási Főigazgatóság"
    db.session.commit()
    html = end_session(client, client_id=agency.client.client_id).get_data(as_text=True)
    assert "Az Országos Nyugdíjbiztosítási Főigazgatóság kéri, hogy kijelentkeztessük" in html


def test_hint_from_another_session_asks_the_citizen(signed_in, client, citizen, agency):
    citizen.sign_in()  # a new session: the earlier ID token's sid no longer matches
    response = end_session(client, id_token_hint=signed_in["id_token"], post_logout_redirect_uri=AFTER)
    assert is_confirmation(response)
    assert is_signed_in(client)


def test_confirming_through_the_form_ends_the_session(signed_in, client, agency, db):
    page = end_session(client, client_id=agency.client.client_id, post_logout_redirect_uri=AFTER, state="s1")
    html = page.get_data(as_text=True)
    data = hidden_fields(html)
    data.update(csrf_token=csrf_of(html), confirm="yes")
    response = client.post("/end-session", data=data)
    assert response.status_code == 200  # without a hint the redirect cannot be shown legitimate
    assert "Location" not in response.headers
    assert not is_signed_in(client)
    assert live_sessions(db) == []


def test_confirming_without_csrf_token_is_refused(signed_in, client, agency):
    response = client.post("/end-session", data={"client_id": agency.client.client_id, "confirm": "yes"})
    assert response.status_code == 400
    assert is_signed_in(client)


def test_cross_site_post_without_confirm_only_asks(signed_in, client):
    response = client.post("/end-session", data={"post_logout_redirect_uri": AFTER})
    assert is_confirmation(response)
    assert is_signed_in(client)


def test_without_a_session_nothing_is_asked(client, agency):
    response = end_session(client, client_id=agency.client.client_id)
    assert response.status_code == 200
    assert not is_confirmation(response)


# Tampered or foreign hints


def _tamper(id_token: str) -> str:
    header, payload, signature = id_token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "someone-else"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return ".".join([header, forged, signature])


def _foreign(id_token: str) -> str:
    """Signed with a key this provider does not hold, but with a known kid."""
    header = json.loads(base64.urlsafe_b64decode(id_token.split(".")[0] + "=="))
    claims = json.loads(base64.urlsafe_b64decode(id_token.split(".")[1] + "=" * (-len(id_token.split(".")[1]) % 4)))
    return jwt.encode({"alg": "RS256", "kid": header["kid"]}, claims, RSAKey.generate_key(2048))


@pytest.mark.parametrize("forge", [_tamper, _foreign, lambda t: t[:-4] + "AAAA", lambda t: "not-a-jwt",
                                   lambda t: t.rsplit(".", 1)[0] + "."],
                         ids=["claims_changed", "foreign_key", "signature_changed", "not_a_jwt", "unsigned"])
def test_tampered_id_token_hint_is_an_error_and_the_session_lives(forge, signed_in, client, db):
    response = end_session(client, id_token_hint=forge(signed_in["id_token"]), post_logout_redirect_uri=AFTER,
                           state="s")
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert "Location" not in response.headers
    assert is_signed_in(client)
    assert len(live_sessions(db)) == 1


# What signing out takes with it


def test_rp_logout_revokes_the_tokens_of_that_session(signed_in, client, agency):
    assert agency.userinfo(signed_in["access_token"]).status_code == 200
    end_session(client, id_token_hint=signed_in["id_token"], post_logout_redirect_uri=AFTER)
    response = agency.userinfo(signed_in["access_token"])
    assert response.status_code == 401
    assert "invalid_token" in response.headers["WWW-Authenticate"]
    assert agency.introspect(signed_in["access_token"]).get_json() == {"active": False}
    assert agency.refresh(signed_in["refresh_token"]).get_json()["error"] == "invalid_grant"


def test_sign_out_on_the_provider_revokes_the_tokens_too(signed_in, client, agency):
    home = client.get("/").get_data(as_text=True)
    assert client.post("/logout", data={"csrf_token": csrf_of(home)}).status_code == 303
    assert agency.userinfo(signed_in["access_token"]).status_code == 401
    assert agency.refresh(signed_in["refresh_token"]).status_code == 400


def test_logout_leaves_other_sessions_of_the_citizen_alone(signed_in, client, citizen, agency, rt, db):
    other_browser = type(client)(client.application)
    other = Citizen(other_browser, rt, citizen.account)
    other.sign_in()
    other_tokens = Agency(other_browser, agency.client, agency.secret).tokens()
    end_session(client, id_token_hint=signed_in["id_token"], post_logout_redirect_uri=AFTER)
    assert is_signed_in(other_browser)
    assert agency.userinfo(other_tokens["access_token"]).status_code == 200
