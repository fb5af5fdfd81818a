"""A third-party client library that implements dynamic registration (pyoidc, PyPI ``oic``)
registers a client against the provider on a real port, signs a citizen in with it and reads
its registration (RFC 7592). pyoidc verifies the ID token itself (signature against the
published JWKS, issuer, audience, nonce).
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

import pytest
import requests
from oic.oic import Client as OidcClient
from oic.oic.message import AuthorizationResponse
from oic.utils.authn.client import CLIENT_AUTHN_METHOD

from ..support.factories import make_account
from ..support.live import browser_sign_in, follow_to_callback
from ..support.registration import initial_token

pytestmark = pytest.mark.e2e

REDIRECT = "http://127.0.0.1:9/pyoidc-callback"


def test_pyoidc_registers_a_client_and_signs_a_citizen_in(live):
    base, app = live
    rt = app.extensions["idp"]
    account = make_account(rt)

    rp = OidcClient(client_authn_method=CLIENT_AUTHN_METHOD)
    rp.provider_config(base)
    registration = rp.register(
        rp.provider_info["registration_endpoint"], registration_token=initial_token(rt, "Pyoidc Hivatal"),
        redirect_uris=[REDIRECT], client_name="pyoidc ügynökség", response_types=["code"],
        token_endpoint_auth_method="client_secret_basic",
    )
    assert rp.client_id == registration["client_id"] and rp.client_secret

    # PKCE (S256) and a nonce, as this provider requires of every client: pyoidc makes the challenge.
    challenge, verifier = rp.add_code_challenge()
    state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    request = rp.construct_AuthorizationRequest(request_args={
        "client_id": rp.client_id, "response_type": "code", "scope": ["openid", "profile"], "redirect_uri": REDIRECT,
        "state": state, "nonce": nonce, **challenge,
    })
    browser = requests.Session()
    callback = follow_to_callback(browser, browser_sign_in(browser, request.request(rp.authorization_endpoint),
                                                           account.username), REDIRECT)
    answer = rp.parse_response(AuthorizationResponse, info=urlsplit(callback).query, sformat="urlencoded")
    assert answer["state"] == state

    tokens = rp.do_access_token_request(
        state=state, request_args={"code": answer["code"], "redirect_uri": REDIRECT, "code_verifier": verifier},
        authn_method="client_secret_basic",
    )
    id_token = tokens["id_token"]  # parsed and verified by pyoidc
    assert id_token["iss"] == base and id_token["aud"] == [rp.client_id] and id_token["nonce"] == nonce
    userinfo = rp.do_user_info_request(state=state)
    assert userinfo["sub"] == id_token["sub"] and userinfo["family_name"] == "Kovács"

    read = rp.registration_read()
    assert read["client_id"] == rp.client_id and read["redirect_uris"] == [REDIRECT]
