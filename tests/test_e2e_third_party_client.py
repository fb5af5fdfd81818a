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
    """What a citizen's browser does: follow to the sign-in page, sign in, consent."""
    page = http.get(authorize_url, allow_redirects=True)
    assert "/login" in page.url, page.url
    data = {"csrf_token": CSRF.search(page.text).group(1), "username": username, "password": PASSWORD,
            "next": page.url.split("next=", 1)[1] if "next=" in page.url else ""}
    from urllib.parse import unquote

    data["next"] = unquote(data["next"])
    return http.post(page.url.split("?")[0], data=data, allow_redirects=False)


def follow_to_callback(http: requests.Session, response: requests.Response, redirect_prefix: str) -> str:
    """Follow redirects (and consent) until the provider sends the browser to the agency."""
    for _ in range(10):
        if response.status_code in (302, 303):
            location = response.headers["Location"]
            if location.startswith(redirect_prefix):
                return location
            response = http.get(requests.compat.urljoin(response.url, location), allow_redirects=False)
            continue
        if response.status_code == 200 and 'name="decision"' in response.text:
            form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', response.text))
            form.update(csrf_token=CSRF.search(response.text).group(1), decision="allow")
            import html

            form = {k: html.unescape(v) for k, v in form.items()}
            response = http.post(response.url.split("?")[0], data=form, allow_redirects=False)
            continue
        raise AssertionError(f"unexpected {response.status_code} at {response.url}: {response.text[:300]}")
    raise AssertionError("too many redirects")


def test_third_party_client_signs_in_and_single_sign_on(live):
    base, app = live
    rt = app.extensions["idp"]
    account = make_account(rt)
    agency1, secret1 = make_client(rt, redirect_uri="http://127.0.0.1:9/cb1")
    agency2, secret2 = make_client(rt, redirect_uri="http://localhost:9/cb2")

    meta = requests.get(f"{base}/.well-known/openid-configuration", timeout=5).json()
    jwks_client = pyjwt.PyJWKClient(meta["jwks_uri"])
    browser = requests.Session()

    def sign_in(client, secret, redirect_uri, first: bool):
        session = OAuth2Session(client.client_id, secret, scope="openid profile email", redirect_uri=redirect_uri,
                                code_challenge_method="S256")
        verifier = secrets.token_urlsafe(48)
        nonce = secrets.token_urlsafe(16)
        url, state = session.create_authorization_url(meta["authorization_endpoint"], nonce=nonce, code_verifier=verifier)
        if first:
            response = browser_sign_in(browser, url, account.username)
        else:
            response = browser.get(url, allow_redirects=False)
        callback = follow_to_callback(browser, response, redirect_uri)
        token = session.fetch_token(meta["token_endpoint"], authorization_response=callback, code_verifier=verifier)
        key = jwks_client.get_signing_key_from_jwt(token["id_token"])
        claims = pyjwt.decode(token["id_token"], key.key, algorithms=meta["id_token_signing_alg_values_supported"],
                              audience=client.client_id, issuer=meta["issuer"])
        assert claims["nonce"] == nonce
        userinfo = session.get(meta["userinfo_endpoint"]).json()
        assert userinfo["sub"] == claims["sub"]
        return claims, userinfo

    claims1, info1 = sign_in(agency1, secret1, "http://127.0.0.1:9/cb1", first=True)
    assert info1["family_name"] == "Kovács"
    # Single sign-on: the second agency gets the citizen without a password.
    claims2, _ = sign_in(agency2, secret2, "http://localhost:9/cb2", first=False)
    assert claims2["auth_time"] == claims1["auth_time"]
    assert claims2["sid"] == claims1["sid"]
    #    
    assert claims1["sub"] != claims2["sub"]
