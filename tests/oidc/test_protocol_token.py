"""The token endpoint and what hangs off its tokens: codes, PKCE, refresh rotation, ID token
signatures, revocation (RFC 7009) and introspection (RFC 7662).

RFC 6749 §4.1.2 and §5.2, RFC 7636 §4.6, RFC 9700 §2.1.1, §4.8 and §4.14, OIDC Core §3.1.3.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from datetime import timedelta

import pytest
import requests
from jwcrypto import jwk as cjwk
from jwcrypto import jwt as cjwt
from jwcrypto.common import JWException

from idp.extensions import db
from idp.authorizations.models import AuthorizationCode
from idp.security.secrets import digest, new_secret

from ..support.factories import make_account, make_client
from ..support.flows import Agency, Citizen, csrf_of
from ..support.protocol import post_token


@pytest.fixture
def citizen(citizen):
    citizen.signed_in_quickly()
    return citizen


def error_of(response, status: int = 400) -> str:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:300])
    return response.get_json()["error"]


def assert_dead(agency, body: dict) -> None:
    """Nothing issued in ``body`` works any more."""
    assert agency.userinfo(body["access_token"]).status_code == 401
    assert agency.introspect(body["access_token"]).get_json() == {"active": False}
    if "refresh_token" in body:
        assert agency.introspect(body["refresh_token"]).get_json() == {"active": False}


def assert_alive(agency, body: dict) -> None:
    assert agency.userinfo(body["access_token"]).status_code == 200
    assert agency.introspect(body["access_token"]).get_json()["active"] is True


# -- Authorization codes -------------------------------------------------------------------------


def test_code_reuse_is_refused_and_revokes_first_tokens(citizen, agency):
    agency.offline = True  # refresh tokens need offline access (OIDC Core §11)
    code = agency.get_code()
    first = agency.exchange(code)
    assert first.status_code == 200
    assert_alive(agency, first.get_json())
    assert error_of(agency.exchange(code)) == "invalid_grant"
    assert_dead(agency, first.get_json())
    assert error_of(agency.refresh(first.get_json()["refresh_token"])) == "invalid_grant"


def test_concurrent_exchanges_of_one_code_yield_one_token(live):
    base, app = live
    rt = app.extensions["idp"]
    http = app.test_client()
    Citizen(http, rt, make_account(rt)).signed_in_quickly()
    c, secret = make_client(rt)
    agency = Agency(http, c, secret)
    code = agency.get_code()
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": agency.redirect_uri,
            "code_verifier": agency.verifier}
    auth = (c.client_id, secret)  # read here: the threads have no application context
    start = threading.Barrier(4)
    results: list[requests.Response] = []

    def exchange():
        start.wait()
        results.append(requests.post(f"{base}/token", data=form, auth=auth, timeout=30))

    threads = [threading.Thread(target=exchange) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(r.status_code for r in results)
    assert statuses == [200, 400, 400, 400], [(r.status_code, r.text[:200]) for r in results]
    assert {r.json()["error"] for r in results if r.status_code == 400} == {"invalid_grant"}
    winner = next(r.json() for r in results if r.status_code == 200)
    assert_dead(agency, winner)  # the losing uses were second uses: what the first issued is revoked


def test_expired_code_is_invalid_grant(citizen, agency, rt):
    code = agency.get_code()
    rt.clock.advance(seconds=rt.settings.tokens.authorization_code_seconds + 1)
    assert error_of(agency.exchange(code)) == "invalid_grant"


def test_code_just_before_expiry_is_accepted(citizen, agency, rt):
    code = agency.get_code()
    rt.clock.advance(seconds=rt.settings.tokens.authorization_code_seconds - 1)
    assert agency.exchange(code).status_code == 200


def test_code_issued_before_sign_out_is_refused(citizen, agency, client):
    code = agency.get_code()
    home = client.get("/")
    assert client.post("/logout", data={"csrf_token": csrf_of(home.get_data(as_text=True))}).status_code == 303
    assert error_of(agency.exchange(code)) == "invalid_grant"


def test_code_of_another_client_is_invalid_grant(citizen, agency, client, rt):
    code = agency.get_code()
    c, secret = make_client(rt, redirect_uri=agency.redirect_uri)
    thief = Agency(client, c, secret, verifier=agency.verifier)
    assert error_of(thief.exchange(code, verifier=agency.verifier)) == "invalid_grant"
    assert agency.exchange(code).status_code == 200, "a stolen code tried elsewhere stays usable by its client"


def test_unknown_code_is_invalid_grant(agency):
    assert error_of(agency.exchange(new_secret(32), verifier="v" * 43)) == "invalid_grant"


@pytest.mark.parametrize(
    "verifier, error",
    [
        pytest.param("x" * 64, "invalid_grant", id="wrong_verifier"),
        pytest.param(None, "invalid_request", id="missing_verifier"),
        pytest.param("short", "invalid_request", id="verifier_too_short"),
        pytest.param("x" * 129, "invalid_request", id="verifier_too_long"),
        pytest.param("x" * 42 + " ", "invalid_request", id="verifier_bad_character"),
    ],
)
def test_bad_code_verifier_is_refused(citizen, agency, verifier, error):
    code = agency.get_code()
    assert error_of(agency.exchange(code, code_verifier=verifier)) == error
    assert agency.exchange(code).status_code == 200, "a failed verifier does not consume the code"


def test_code_verifier_for_code_without_challenge_is_refused(citizen, agency, rt):
    code = new_secret(32)
    now = rt.now()
    db.session.add(AuthorizationCode(
        code_digest=digest(code), client_pk=agency.client.id, account_id=citizen.account.id, sid="sid-1",
        redirect_uri=agency.redirect_uri, scope="openid", nonce="n-1", code_challenge=None,
        code_challenge_method=None, auth_time=now, acr="http://eidas.europa.eu/LoA/low", amr=["pwd"],
        created_at=now, expires_at=now + timedelta(seconds=60),
    ))
    db.session.commit()
    assert error_of(agency.exchange(code, verifier="v" * 43)) == "invalid_request"


@pytest.mark.parametrize(
    "redirect_uri",
    [
        pytest.param("https://agency.example.hu/other", id="different"),
        pytest.param("https://agency.example.hu/callback/", id="trailing_slash"),
        pytest.param(None, id="missing"),
    ],
)
def test_redirect_uri_mismatch_is_invalid_grant(citizen, agency, redirect_uri):
    code = agency.get_code()
    assert error_of(agency.exchange(code, redirect_uri=redirect_uri)) == "invalid_grant"
    assert agency.exchange(code).status_code == 200, "a refused attempt does not consume the code"


# -- Refresh tokens ------------------------------------------------------------------------------


def test_refresh_rotates_and_old_refresh_token_stops_working(citizen, agency):
    agency.offline = True  # refresh tokens need offline access (OIDC Core §11)
    first = agency.tokens()
    second = agency.refresh(first["refresh_token"])
    assert second.status_code == 200, second.get_json()
    body = second.get_json()
    assert body["refresh_token"] != first["refresh_token"]
    assert body["access_token"] != first["access_token"]
    assert_alive(agency, body)
    assert agency.introspect(first["refresh_token"]).get_json() == {"active": False}


def test_reused_refresh_token_revokes_whole_family(citizen, agency):
    agency.offline = True  # refresh tokens need offline access (OIDC Core §11)
    first = agency.tokens()
    second = agency.refresh(first["refresh_token"]).get_json()
    third = agency.refresh(second["refresh_token"]).get_json()
    assert_alive(agency, third)
    assert error_of(agency.refresh(first["refresh_token"])) == "invalid_grant"
    assert_dead(agency, third)
    assert error_of(agency.refresh(third["refresh_token"])) == "invalid_grant"


def test_refresh_reuse_leaves_other_families_alone(citizen, agency):
    agency.offline = True  # refresh tokens need offline access (OIDC Core §11)
    mine = agency.tokens()
    other = agency.tokens()
    agency.refresh(mine["refresh_token"])
    agency.refresh(mine["refresh_token"])
    assert_alive(agency, other)


def test_refresh_with_narrower_scope(citizen, agency):
    agency.offline = True  # refresh tokens need offline access (OIDC Core §11)
    first = agency.tokens(scope="openid profile email")
    response = post_token(agency, {"grant_type": "refresh_token", "refresh_token": first["refresh_token"],
                                   "scope": "openid profile"})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["scope"].split() == ["openid", "profile"]
    assert "email" not in agency.userinfo(body["access_token"]).get_json()


def test_refresh_with_wider_scope_is_invalid_scope(citizen, agency):
    agency.offline = True  # refresh tokens need offline access (OIDC Core §11)
    first = agency.tokens(scope="openid profile")
    response = post_token(agency, {"grant_type": "refresh_token", "refresh_token": first["refresh_token"],
                                   "scope": "openid profile email"})
    assert error_of(response) == "invalid_scope"
    assert agency.refresh(first["refresh_token"]).status_code == 200, "a refused widening does not burn the token"


def test_refresh_token_of_another_client_is_invalid_grant(citizen, agency, client, rt):
    agency.offline = True  # refresh tokens need offline access (OIDC Core §11)
    body = agency.tokens()
    c, secret = make_client(rt)
    assert error_of(Agency(client, c, secret).refresh(body["refresh_token"])) == "invalid_grant"
    assert agency.refresh(body["refresh_token"]).status_code == 200


def test_expired_refresh_token_is_invalid_grant(citizen, agency, rt):
    agency.offline = True  # refresh tokens need offline access (OIDC Core §11)
    body = agency.tokens()
    rt.clock.advance(seconds=rt.settings.tokens.refresh_token_seconds + 1)
    assert error_of(agency.refresh(body["refresh_token"])) == "invalid_grant"


def test_client_without_refresh_grant_gets_no_refresh_token(citizen, client, rt):
    c, secret = make_client(rt, refresh=False)
    agency = Agency(client, c, secret)
    body = agency.tokens()
    assert "refresh_token" not in body and body["access_token"]


def test_access_token_used_as_refresh_token_is_invalid_grant(citizen, agency):
    body = agency.tokens()
    assert error_of(agency.refresh(body["access_token"])) == "invalid_grant"


# -- Response format and grant types -------------------------------------------------------------


@pytest.mark.parametrize("outcome", ["success", "error"])
def test_token_responses_are_not_cached(citizen, agency, outcome):
    code = agency.get_code()
    response = agency.exchange(code if outcome == "success" else "bogus")
    assert response.status_code == (200 if outcome == "success" else 400)
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Pragma"] == "no-cache"
    assert response.mimetype == "application/json"


@pytest.mark.parametrize(
    "grant_type",
    ["password", "client_credentials", "implicit", "urn:ietf:params:oauth:grant-type:jwt-bearer",
     "urn:ietf:params:oauth:grant-type:device_code"],
)
def test_unsupported_grant_types(agency, grant_type):
    data = {"grant_type": grant_type, "username": "x", "password": "y", "scope": "openid"}
    response = post_token(agency, data)
    assert error_of(response) == "unsupported_grant_type"


@pytest.mark.parametrize("grant_type", [None, ""], ids=["absent", "empty"])
def test_a_token_request_without_grant_type_is_invalid_request(agency, grant_type):
    """RFC 6749 §5.2: a missing required parameter is invalid_request."""
    data = {"code": "x"} if grant_type is None else {"grant_type": grant_type, "code": "x"}
    response = post_token(agency, data)
    assert response.status_code == 400
    assert error_of(response) == "invalid_request"


def test_token_endpoint_refuses_get(agency):
    assert agency.http.get("/token?grant_type=authorization_code").status_code == 405


# -- ID token signatures, verified with jwcrypto -------------------------------------------------


@pytest.mark.parametrize("alg", ["RS256", "ES256", "EdDSA"])
def test_id_token_signed_with_client_algorithm_verifies_against_jwks(citizen, client, rt, alg):
    c, secret = make_client(rt, alg=alg)
    agency = Agency(client, c, secret)
    body = agency.tokens()
    id_token = body["id_token"]
    jwks_response = client.get("/jwks.json")
    published = jwks_response.get_json()
    keyset = cjwk.JWKSet.from_json(jwks_response.get_data(as_text=True))
    header = cjwt.JWT(jwt=id_token).token.jose_header
    assert header["alg"] == alg
    key = [k for k in published["keys"] if k["kid"] == header["kid"]]
    assert len(key) == 1 and key[0].get("alg", alg) == alg
    verified = cjwt.JWT(jwt=id_token, key=keyset, algs=[alg], expected_type="JWS")
    claims = json.loads(verified.claims)
    assert claims["aud"] == c.client_id and claims["iss"] == rt.issuer and claims["nonce"] == agency.nonce
    half = (hashlib.sha512 if alg == "EdDSA" else hashlib.sha256)(body["access_token"].encode()).digest()
    assert claims["at_hash"] == base64.urlsafe_b64encode(half[: len(half) // 2]).rstrip(b"=").decode()
    others = [a for a in ("RS256", "ES256", "EdDSA") if a != alg]
    with pytest.raises(JWException):
        cjwt.JWT(jwt=id_token, key=keyset, algs=others, expected_type="JWS")


# -- Revocation (RFC 7009) and introspection (RFC 7662) ------------------------------------------


def test_revoking_refresh_token_revokes_its_family(citizen, agency):
    agency.offline = True  # refresh tokens need offline access (OIDC Core §11)
    first = agency.tokens()
    second = agency.refresh(first["refresh_token"]).get_json()
    other = agency.tokens()
    assert agency.revoke(second["refresh_token"], hint="refresh_token").status_code == 200
    assert_dead(agency, second)
    assert error_of(agency.refresh(second["refresh_token"])) == "invalid_grant"
    assert_alive(agency, other)


def test_revoking_access_token_ends_it(citizen, agency):
    body = agency.tokens()
    assert agency.revoke(body["access_token"]).status_code == 200
    assert_dead(agency, body)


@pytest.mark.parametrize("hint", [None, "access_token", "refresh_token"])
def test_revoking_unknown_token_is_ok(agency, hint):
    response = agency.revoke(new_secret(32), hint=hint)
    assert response.status_code == 200


def test_revocation_needs_client_authentication(citizen, agency):
    body = agency.tokens()
    response = agency.http.post("/revoke", data={"token": body["access_token"]})
    assert error_of(response, 401) == "invalid_client"
    assert_alive(agency, body)


def test_another_client_cannot_revoke_a_token(citizen, agency, client, rt):
    body = agency.tokens()
    c, secret = make_client(rt)
    Agency(client, c, secret).revoke(body["access_token"])
    assert_alive(agency, body)


def test_introspection_of_another_clients_token_is_inactive(citizen, agency, client, rt):
    agency.offline = True  # refresh tokens need offline access (OIDC Core §11)
    body = agency.tokens()
    c, secret = make_client(rt)
    other = Agency(client, c, secret)
    assert other.introspect(body["access_token"]).get_json() == {"active": False}
    assert other.introspect(body["refresh_token"]).get_json() == {"active": False}


def test_introspection_of_active_token(citizen, agency, rt):
    body = agency.tokens()
    info = agency.introspect(body["access_token"]).get_json()
    assert info["active"] is True and info["client_id"] == agency.client.client_id
    assert info["scope"] == body["scope"] and info["iss"] == rt.issuer
    rt.clock.advance(seconds=rt.settings.tokens.access_token_seconds + 1)
    assert agency.introspect(body["access_token"]).get_json() == {"active": False}
