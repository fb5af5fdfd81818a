"""A third-party client library signs in against the provider on a real port.

Authlib's *client* (requests integration) runs the code flow with PKCE, and the
ID token's signature is validated against the published JWKS with PyJWT, a
JOSE library the provider does not use for signing.
"""

from __future__ import annotations

import secrets

import jwt as pyjwt
import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session

from ..support.factories import make_account, make_client
from ..support.live import browser_sign_in, follow_to_callback

pytestmark = pytest.mark.e2e

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
