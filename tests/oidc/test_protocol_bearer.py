"""The userinfo endpoint's errors are RFC 6750 §3.1's, each with its ``WWW-Authenticate: Bearer``
challenge: no token at all is a bare challenge (401); a malformed request ``invalid_request`` (400);
a bad token ``invalid_token`` (401); a token without ``openid`` ``insufficient_scope`` (403).
Never ``unsupported_token_type``, which RFC 6750 does not define."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from idp.authorizations.models import Token

REALM = 'Bearer realm="http://localhost"'


def test_no_token_is_a_bare_challenge(client):
    response = client.get("/userinfo")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == REALM
    assert response.get_json()["error"] == "invalid_request"


@pytest.mark.parametrize("header", ["Basic YTpi", "Negotiate abc", "Basic "])
def test_another_scheme_is_no_bearer_token(client, header):
    response = client.get("/userinfo", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == REALM


@pytest.mark.parametrize("header", ["Bearer", "Bearer ", "Bearer a b", "Bearer \xe9\xff", "Bearer a=b", "bearer  "])
def test_a_malformed_bearer_header_is_invalid_request(client, header):
    response = client.get("/userinfo", headers={"Authorization": header})
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"
    assert response.headers["WWW-Authenticate"] == f'{REALM}, error="invalid_request"'


def test_a_token_in_the_header_and_the_body_is_invalid_request(client, citizen, agency):
    citizen.signed_in_quickly()
    token = agency.tokens()["access_token"]
    response = client.post("/userinfo", data={"access_token": token}, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_request"


def test_two_tokens_in_the_body_are_invalid_request(client, citizen, agency):
    citizen.signed_in_quickly()
    token = agency.tokens()["access_token"]
    response = client.post("/userinfo", data={"access_token": [token, token]})
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_request"


def test_an_unknown_token_is_invalid_token(client):
    response = client.get("/userinfo", headers={"Authorization": "Bearer nosuchtoken"})
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_token"
    assert response.headers["WWW-Authenticate"] == f'{REALM}, error="invalid_token"'


def test_a_token_without_openid_is_insufficient_scope(client, citizen, agency, db):
    citizen.signed_in_quickly()
    token = agency.tokens()["access_token"]
    db.session.execute(update(Token).values(scope="profile"))
    db.session.commit()
    response = client.get("/userinfo", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403
    assert response.get_json()["error"] == "insufficient_scope"
    assert response.headers["WWW-Authenticate"] == f'{REALM}, error="insufficient_scope", scope="openid"'


def test_a_good_token_still_works_in_the_header_and_the_body(client, citizen, agency):
    citizen.signed_in_quickly()
    token = agency.tokens()["access_token"]
    assert client.get("/userinfo", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert client.post("/userinfo", data={"access_token": token}).status_code == 200
