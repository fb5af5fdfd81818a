"""The authorization code flow through the Flask test client: the happy path and its guards."""

from __future__ import annotations

from joserfc import jwt

from idp.oidc.claims import subject_identifier

from ..support.flows import query_of


def decode(rt, id_token):
    return jwt.decode(id_token, rt.keyring.public_keyset(rt.now()), algorithms=["RS256", "ES256", "EdDSA"]).claims


def test_sign_in_consent_and_tokens(citizen, agency, rt):
    citizen.signed_in_quickly()
    page = agency.visit()
    assert page.status_code == 200 and b'name="decision"' in page.data
    code = agency.code_from(agency.follow(agency.consent(page)))
    response = agency.exchange(code)
    assert response.status_code == 200, response.get_json()
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    claims = decode(rt, body["id_token"])
    assert claims["iss"] == rt.issuer
    assert claims["aud"] == agency.client.client_id
    assert claims["nonce"] == agency.nonce
    assert claims["sub"] == subject_identifier(citizen.account, agency.client, rt.pairwise_secret)
    assert claims["acr"] == "http://eidas.europa.eu/LoA/low"
    assert claims["amr"] == ["pwd"]
    for name in ("auth_time", "at_hash", "sid", "iat", "exp"):
        assert name in claims
    info = agency.userinfo(body["access_token"])
    assert info.status_code == 200
    assert info.get_json()["sub"] == claims["sub"]
    assert info.get_json()["family_name"] == "Kovács"


def test_consent_is_remembered(citizen, agency):
    citizen.signed_in_quickly()
    agency.get_code()
    second = agency.authorize()
    assert second.status_code == 302
    assert "code" in query_of(second.headers["Location"])


def test_iss_parameter_in_response(citizen, agency, rt):
    citizen.signed_in_quickly()
    agency.get_code()
    params = query_of(agency.authorize().headers["Location"])
    assert params["iss"] == rt.issuer


def test_userinfo_by_get_post_header_and_post_body(citizen, agency, client):
    citizen.signed_in_quickly()
    token = agency.tokens()["access_token"]
    assert agency.userinfo(token, method="GET").status_code == 200
    assert agency.userinfo(token, method="POST").status_code == 200
    by_body = client.post("/userinfo", data={"access_token": token})
    assert by_body.status_code == 200 and by_body.get_json()["sub"]


def test_userinfo_without_a_token_answers_401_with_www_authenticate(client):
    response = client.get("/userinfo")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_every_redirect_after_a_consent_post_is_a_303(citizen, agency, rt):
    """RFC 9700 §4.12: after a POST the browser must GET the next address, never re-send the form."""
    citizen.signed_in_quickly()
    allowed = agency.consent(agency.visit())
    assert allowed.status_code == 303  # to the resume step, which answers the agency by GET
    assert agency.code_from(agency.follow(allowed))
    denied = agency.consent(agency.visit(scope="openid address"), decision="deny")
    assert denied.status_code == 303 and denied.headers["Location"].startswith(agency.redirect_uri)
