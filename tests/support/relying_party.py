"""An agency's relying party built on third-party client libraries, for tests against the provider
on a real port: Authlib's ``OAuth2Session`` builds the request and exchanges the code,
``requests-oauth2client`` pushes requests (RFC 9126), and PyJWT checks the ID token's signature
against the published JWKS. None of them is the provider's code.

Its redirect URI is a port nothing listens on: a browser test answers it inside the browser
(``answer_callbacks``) and reads the callback from the address bar.
"""

from __future__ import annotations

import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt as pyjwt
import requests
from authlib.integrations.requests_client import OAuth2Session

from idp.authorizations import consent
from idp.extensions import db

from .factories import make_client
from .live import free_port


class RelyingParty:
    def __init__(self, base: str, rt, *, scope: str = "openid profile", consented_by=None, site: str | None = None,
                 **client_args):
        self.base = base
        self.meta = requests.get(f"{base}/.well-known/openid-configuration", timeout=5).json()
        # at the agency's own site (tests/support/live.py AgencySite), or a port nothing listens on
        self.redirect_uri = f"{site}/callback/{secrets.token_hex(4)}" if site else f"http://127.0.0.1:{free_port()}/callback"
        self.scope = scope
        self.client, self.secret = make_client(rt, redirect_uri=self.redirect_uri, **client_args)
        if consented_by is not None:  # the citizen allowed this agency before
            consent.record(db.session, consented_by.id, self.client.id, scope, rt.now())
            db.session.commit()
        self.jwks = pyjwt.PyJWKClient(self.meta["jwks_uri"])
        self.state = self.nonce = self.verifier = ""

    def answer_callbacks(self, context) -> None:
        """The browser ``context`` shows a small page at the redirect URI (nothing listens there)."""
        context.route(lambda url: url.startswith(self.redirect_uri),
                      lambda route: route.fulfill(status=200, content_type="text/html", body="<title>Agency</title>"))

    def authorization_params(self, **extra) -> dict[str, str]:
        """A fresh request (PKCE S256, nonce, state) built by Authlib, as a dict of parameters."""
        self.session = OAuth2Session(self.client.client_id, self.secret, scope=self.scope,
                                     redirect_uri=self.redirect_uri, code_challenge_method="S256")
        self.verifier, self.nonce = secrets.token_urlsafe(48), secrets.token_urlsafe(16)
        url, self.state = self.session.create_authorization_url(
            self.meta["authorization_endpoint"], nonce=self.nonce, code_verifier=self.verifier, **extra
        )
        return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}

    def authorization_url(self, **extra) -> str:
        return self.meta["authorization_endpoint"] + "?" + urlencode(self.authorization_params(**extra))

    def callback(self, url: str) -> dict[str, str]:
        assert url.startswith(self.redirect_uri), url
        return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}

    def id_token(self, callback_url: str) -> dict:
        """Exchange the code of the callback and return the ID token's claims, its signature checked."""
        return self.verified(self.exchange(callback_url)["id_token"])

    def exchange(self, callback_url: str) -> dict:
        """Exchange the code of the callback: the whole token response (its ID token checked)."""
        token = self.session.fetch_token(self.meta["token_endpoint"], authorization_response=callback_url,
                                         code_verifier=self.verifier)
        self.verified(token["id_token"])
        return dict(token)

    def refresh(self, refresh_token: str) -> dict:
        """The refresh grant, by Authlib; a refusal raises Authlib's ``OAuthError`` (its ``error``)."""
        return dict(self.session.refresh_token(self.meta["token_endpoint"], refresh_token=refresh_token))

    def userinfo(self, access_token: str) -> requests.Response:
        return requests.get(self.meta["userinfo_endpoint"], headers={"Authorization": f"Bearer {access_token}"},
                            timeout=5)

    def verified(self, id_token: str) -> dict:
        key = self.jwks.get_signing_key_from_jwt(id_token)
        claims = pyjwt.decode(id_token, key.key, algorithms=self.meta["id_token_signing_alg_values_supported"],
                              audience=self.client.client_id, issuer=self.meta["issuer"])
        assert claims["nonce"] == self.nonce
        return claims
