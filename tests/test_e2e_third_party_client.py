"""A third-party client library signs in against the provider on a real port.

Authlib's *client* (requests integration) runs the code flow with PKCE, and the
ID token's signature is validated against the published JWKS with PyJWT, a
JOSE library the provider does not use for signing.
"""

from __future__ import annotations

import re
import secrets

import jwt as pyjwt
import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session

from .support.factories import PASSWORD, make_account, make_client

pytestmark = pytest.mark.e2e

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def browser_sign_in(http: requests.Session, authorize_url: str, username: str) -> requests.Response:
 Pairwise: different agencies (different sectors) see different sub values."""What a citizen's browser does: follow to the sign-in page, sign in, consent."""
 Pairwise: different agencies (different sectors) see different sub values.page = http.get(authorize_url, allow_redirects=True)
 Pairwise: different agencies (different sectors) see different sub values.assert "/login" in page.url, page.url
 Pairwise: different agencies (different sectors) see different sub values.data = {"csrf_token": CSRF.search(page.text).group(1), "username": username, "password": PASSWORD,
 Pairwise: different agencies (different sectors) see different sub values.        "next": page.url.split("next=", 1)[1] if "next=" in page.url else ""}
 Pairwise: different agencies (different sectors) see different sub values.from urllib.parse import unquote

 Pairwise: different agencies (different sectors) see different sub values.data["next"] = unquote(data["next"])
 Pairwise: different agencies (different sectors) see different sub values.return http.post(page.url.split("?")[0], data=data, allow_redirects=False)


def follow_to_callback(http: requests.Session, response: requests.Response, redirect_prefix: str) -> str:
 Pairwise: different agencies (different sectors) see different sub values."""Follow redirects (and consent) until the provider sends the browser to the agency."""
 Pairwise: different agencies (different sectors) see different sub values.for _ in range(10):
 Pairwise: different agencies (different sectors) see different sub values.    if response.status_code in (302, 303):
 Pairwise: different agencies (different sectors) see different sub values.        location = response.headers["Location"]
 Pairwise: different agencies (different sectors) see different sub values.        if location.startswith(redirect_prefix):
 Pairwise: different agencies (different sectors) see different sub values.            return location
 Pairwise: different agencies (different sectors) see different sub values.        response = http.get(requests.compat.urljoin(response.url, location), allow_redirects=False)
 Pairwise: different agencies (different sectors) see different sub values.        continue
 Pairwise: different agencies (different sectors) see different sub values.    if response.status_code == 200 and 'name="decision"' in response.text:
 Pairwise: different agencies (different sectors) see different sub values.        form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', response.text))
 Pairwise: different agencies (different sectors) see different sub values.        form.update(csrf_token=CSRF.search(response.text).group(1), decision="allow")
 Pairwise: different agencies (different sectors) see different sub values.        import html

 Pairwise: different agencies (different sectors) see different sub values.        form = {k: html.unescape(v) for k, v in form.items()}
 Pairwise: different agencies (different sectors) see different sub values.        response = http.post(response.url.split("?")[0], data=form, allow_redirects=False)
 Pairwise: different agencies (different sectors) see different sub values.        continue
 Pairwise: different agencies (different sectors) see different sub values.    raise AssertionError(f"unexpected {response.status_code} at {response.url}: {response.text[:300]}")
 Pairwise: different agencies (different sectors) see different sub values.raise AssertionError("too many redirects")


def test_third_party_client_signs_in_and_single_sign_on(live):
 Pairwise: different agencies (different sectors) see different sub values.base, app = live
 Pairwise: different agencies (different sectors) see different sub values.rt = app.extensions["idp"]
 Pairwise: different agencies (different sectors) see different sub values.account = make_account(rt)
 Pairwise: different agencies (different sectors) see different sub values.agency1, secret1 = make_client(rt, redirect_uri="http://127.0.0.1:9/cb1")
 Pairwise: different agencies (different sectors) see different sub values.agency2, secret2 = make_client(rt, redirect_uri="http://localhost:9/cb2")

 Pairwise: different agencies (different sectors) see different sub values.meta = requests.get(f"{base}/.well-known/openid-configuration", timeout=5).json()
 Pairwise: different agencies (different sectors) see different sub values.jwks_client = pyjwt.PyJWKClient(meta["jwks_uri"])
 Pairwise: different agencies (different sectors) see different sub values.browser = requests.Session()

 Pairwise: different agencies (different sectors) see different sub values.def sign_in(client, secret, redirect_uri, first: bool):
 Pairwise: different agencies (different sectors) see different sub values.    session = OAuth2Session(client.client_id, secret, scope="openid profile email", redirect_uri=redirect_uri,
 Pairwise: different agencies (different sectors) see different sub values.                            code_challenge_method="S256")
 Pairwise: different agencies (different sectors) see different sub values.    verifier = secrets.token_urlsafe(48)
 Pairwise: different agencies (different sectors) see different sub values.    nonce = secrets.token_urlsafe(16)
 Pairwise: different agencies (different sectors) see different sub values.    url, state = session.create_authorization_url(meta["authorization_endpoint"], nonce=nonce, code_verifier=verifier)
 Pairwise: different agencies (different sectors) see different sub values.    if first:
 Pairwise: different agencies (different sectors) see different sub values.        response = browser_sign_in(browser, url, account.username)
 Pairwise: different agencies (different sectors) see different sub values.    else:
 Pairwise: different agencies (different sectors) see different sub values.        response = browser.get(url, allow_redirects=False)
 Pairwise: different agencies (different sectors) see different sub values.    callback = follow_to_callback(browser, response, redirect_uri)
 Pairwise: different agencies (different sectors) see different sub values.    token = session.fetch_token(meta["token_endpoint"], authorization_response=callback, code_verifier=verifier)
 Pairwise: different agencies (different sectors) see different sub values.    key = jwks_client.get_signing_key_from_jwt(token["id_token"])
 Pairwise: different agencies (different sectors) see different sub values.    claims = pyjwt.decode(token["id_token"], key.key, algorithms=meta["id_token_signing_alg_values_supported"],
 Pairwise: different agencies (different sectors) see different sub values.                          audience=client.client_id, issuer=meta["issuer"])
 Pairwise: different agencies (different sectors) see different sub values.    assert claims["nonce"] == nonce
 Pairwise: different agencies (different sectors) see different sub values.    userinfo = session.get(meta["userinfo_endpoint"]).json()
 Pairwise: different agencies (different sectors) see different sub values.    assert userinfo["sub"] == claims["sub"]
 Pairwise: different agencies (different sectors) see different sub values.    return claims, userinfo

 Pairwise: different agencies (different sectors) see different sub values.claims1, info1 = sign_in(agency1, secret1, "http://127.0.0.1:9/cb1", first=True)
 Pairwise: different agencies (different sectors) see different sub values.assert info1["family_name"] == "Kovács"
 Pairwise: different agencies (different sectors) see different sub values.# Single sign-on: the second agency gets the citizen without a password.
 Pairwise: different agencies (different sectors) see different sub values.claims2, _ = sign_in(agency2, secret2, "http://localhost:9/cb2", first=False)
 Pairwise: different agencies (different sectors) see different sub values.assert claims2["auth_time"] == claims1["auth_time"]
 Pairwise: different agencies (different sectors) see different sub values.assert claims2["sid"] == claims1["sid"]
 Pairwise: different agencies (different sectors) see different sub values.# Pairwise: different agencies (different sectors) see different sub values.
 Pairwise: different agencies (different sectors) see different sub values.assert claims1["sub"] != claims2["sub"]
