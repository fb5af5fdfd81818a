"""Action helpers that read like the story: ``citizen.sign_in()``, ``agency.authorize(prompt="none")``."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlencode, urlsplit

from sqlalchemy import select

from idp.accounts import assurance
from idp.extensions import db
from idp.sessions import service as sessions
from idp.sessions.models import SsoSession

from .factories import PASSWORD

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "page has no CSRF token"
    return match.group(1)


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


@dataclass
class Citizen:
    http: object
    rt: object
    account: object
    password: str = PASSWORD

    def sign_in(self, password: str | None = None, next_url: str | None = None):
        """Through the real form of the direct sign-in: GET the page, POST username and password."""
        query = {"next": next_url} if next_url else None
        page = self.http.get("/login", query_string=query)
        data = {"csrf_token": csrf_of(page.get_data(as_text=True)), "username": self.account.username,
                "password": password or self.password}
        return self.http.post("/login", data=data, query_string=query)

    def sign_in_at(self, login_url: str, password: str | None = None):
        """Through an interaction's sign-in page (``login_url``): GET it, POST username and password."""
        page = self.http.get(login_url)
        assert page.status_code == 200, (page.status_code, page.headers.get("Location"))
        data = {"csrf_token": csrf_of(page.get_data(as_text=True)), "username": self.account.username,
                "password": password or self.password}
        return self.http.post(login_url, data=data)

    def with_second_factor(self) -> tuple[str, list[str]]:
        """Ügyfélkapu+ on, straight through the service; returns the secret and the recovery codes.
        The clock moves a step on, so the enrolment code's step is behind."""
        from idp.lifecycle import second_factor
        from idp.lifecycle.context import context_for
        from idp.security import totp

        ctx = context_for(self.rt, db.session)
        secret = second_factor.begin_enrolment(ctx, self.account)
        codes = second_factor.confirm_enrolment(ctx, self.account, totp.code_at(secret, self.rt.now()), self.rt.now())
        self.rt.clock.advance(seconds=30)
        return secret, codes

    def with_email_factor(self) -> list[str]:
        """Ügyfélkapu+ by emailed code, straight through the service; returns the recovery codes."""
        from idp.lifecycle import second_factor
        from idp.lifecycle.context import context_for

        return second_factor.choose_email(context_for(self.rt, db.session), self.account, self.password, "", self.rt.now())

    def mail(self) -> list:
        """The mail sent to this citizen (the test's outbox), newest first, read in full."""
        from idp.mail import list_outbox, read_outbox
        from idp.settings import resolve_path

        folder = resolve_path(self.rt.settings.mail.outbox_dir)
        return [read_outbox(folder, entry.name) for entry in list_outbox(folder, to=self.account.email)]

    def emailed_code(self) -> str:
        """The latest Ügyfélkapu+ code mailed to this citizen: the indented six digits."""
        for mail in self.mail():
            match = re.search(r"^\s{4}(\d{6})\s*$", mail.text, re.MULTILINE)
            if match:
                return match.group(1)
        raise AssertionError("no Ügyfélkapu+ code in the outbox")

    def second_step(self, code: str, next_url: str | None = None, page_url: str = "/login/second-factor"):
        """Through the real form: the Ügyfélkapu+ code page after the password (or a step-up); an
        interaction's own code page when ``page_url`` names it."""
        query = {"next": next_url} if next_url else None
        page = self.http.get(page_url, query_string=query)
        data = {"csrf_token": csrf_of(page.get_data(as_text=True)), "code": code}
        return self.http.post(page_url, data=data, query_string=query)

    def signed_in_quickly(self, amr=("pwd",), auth_time=None):
        """Fast login for everything after sign-in: a session straight from the service."""
        sso, secret = sessions.start(db.session, self.account, auth_time or self.rt.now(), list(amr), assurance.level_for(amr, self.rt.assurance))
        db.session.commit()
        self.http.set_cookie(self.rt.settings.session_cookie_name, secret, domain="localhost")
        return sso


@dataclass
class Agency:
    http: object
    client: object
    secret: str | None
    redirect_uri: str = ""
    verifier: str = ""
    nonce: str = ""
    state: str = ""
    last_params: dict = field(default_factory=dict)
    #: Ask for offline access (OIDC Core §11: ``offline_access`` with ``prompt=consent``) and tick it
    #: on the consent page, so the tokens include a refresh token. The client must be allowed it.
    offline: bool = False

    def __post_init__(self):
        self.redirect_uri = self.redirect_uri or self.client.redirect_uris[0]

    def authorize_params(self, **overrides) -> dict:
        self.verifier, challenge = pkce_pair()
        self.nonce = secrets.token_urlsafe(12)
        self.state = secrets.token_urlsafe(12)
        params = {
            "response_type": "code",
            "client_id": self.client.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": "openid profile email",
            "state": self.state,
            "nonce": self.nonce,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        params.update(overrides)
        if self.offline:
            if "offline_access" not in (params.get("scope") or "").split():
                params["scope"] = f"{params.get('scope') or ''} offline_access".strip()
            if "prompt" not in overrides:
                params["prompt"] = "consent"
        self.last_params = {k: v for k, v in params.items() if v is not None}
        return self.last_params

    def authorize(self, **overrides):
        """The authorization request as the agency sends it; the provider's first answer."""
        return self.http.get("/authorize?" + urlencode(self.authorize_params(**overrides)))

    def push(self, **overrides):
        """A pushed authorization request (RFC 9126) with the client's authentication."""
        data = dict(self.authorize_params(**overrides))
        return self.http.post("/par", data=data, headers=self._auth(data))

    def authorize_pushed(self, request_uri: str, client_id: str | None = None):
        """The browser at ``/authorize`` with the ``request_uri`` of a pushed request."""
        query = {"client_id": client_id or self.client.client_id, "request_uri": request_uri}
        return self.http.get("/authorize?" + urlencode(query))

    def follow(self, response):
        """Follow the provider's own redirects (to an interaction's pages and its resume step) until
        a page is shown or the browser is sent back to the agency."""
        for _ in range(10):
            location = response.headers.get("Location", "") if response.status_code in (302, 303) else ""
            if not location.startswith("/"):
                return response
            response = self.http.get(location)
        raise AssertionError("too many redirects")

    def visit(self, **overrides):
        """Authorize and follow the provider's redirects: a page, or the answer to the agency."""
        return self.follow(self.authorize(**overrides))

    def consent(self, page, decision: str = "allow", offline: bool | None = None):
        """Answer the consent page ``page`` (a response showing it); returns the provider's answer.
        Offline access is ticked when offered and ``offline`` (default: the agency's own ``offline``)."""
        html = page.get_data(as_text=True)
        action = re.search(r'<form method="post" action="([^"]*/consent)"', html)
        assert action, "not a consent page"
        data = {"csrf_token": csrf_of(html), "decision": decision}
        if (self.offline if offline is None else offline) and 'name="offline"' in html:
            data["offline"] = "y"
        return self.http.post(action.group(1), data=data)

    def code_from(self, response) -> str:
        assert response.status_code in (302, 303), response.get_data(as_text=True)[:500]
        location = response.headers["Location"]
        assert location.startswith(self.redirect_uri), location
        params = query_of(location)
        assert "error" not in params, params
        assert params["state"] == self.state
        return params["code"]

    def get_code(self, **overrides) -> str:
        """Authorize with a signed-in citizen, consenting when asked."""
        response = self.visit(**overrides)
        if response.status_code == 200 and b'name="decision"' in response.data:
            response = self.follow(self.consent(response))
        return self.code_from(response)

    def _auth(self, data: dict) -> dict:
        headers = {}
        if self.client.token_endpoint_auth_method == "client_secret_basic":
            raw = f"{self.client.client_id}:{self.secret}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(raw).decode()
        elif self.client.token_endpoint_auth_method == "client_secret_post":
            data.update(client_id=self.client.client_id, client_secret=self.secret)
        else:
            data.setdefault("client_id", self.client.client_id)
        return headers

    def exchange(self, code: str, verifier: str | None = None, **extra):
        data = {"grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri,
                "code_verifier": verifier if verifier is not None else self.verifier}
        data.update(extra)
        data = {k: v for k, v in data.items() if v is not None}
        headers = self._auth(data)
        return self.http.post("/token", data=data, headers=headers)

    def refresh(self, refresh_token: str):
        data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        return self.http.post("/token", data=data, headers=self._auth(data))

    def introspect(self, token: str):
        data = {"token": token}
        return self.http.post("/introspect", data=data, headers=self._auth(data))

    def revoke(self, token: str, hint: str | None = None):
        data = {"token": token}
        if hint:
            data["token_type_hint"] = hint
        return self.http.post("/revoke", data=data, headers=self._auth(data))

    def userinfo(self, access_token: str, method: str = "GET"):
        headers = {"Authorization": f"Bearer {access_token}"}
        return self.http.open("/userinfo", method=method, headers=headers)

    def tokens(self, **overrides) -> dict:
        response = self.exchange(self.get_code(**overrides))
        assert response.status_code == 200, response.get_json()
        return response.get_json()


def sessions_of(db, account) -> list:
    """The account's sign-in sessions as stored."""
    return db.session.scalars(select(SsoSession).where(SsoSession.account_id == account.id)).all()


def is_signed_in(http) -> bool:
    """Whether the browser ``http`` holds a live sign-in session (the home page offers sign-out)."""
    return 'action="/logout"' in http.get("/").get_data(as_text=True)
