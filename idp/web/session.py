"""The sign-in session as the browser holds it: a cookie with a random secret.

HttpOnly, Secure over https (and then ``__Host-`` prefixed), SameSite=Lax so
the citizen arriving from an agency's link is still recognised (single
sign-on), while cross-site POSTs carry no session.
"""

from __future__ import annotations

from flask import Flask, Response, g, request

from idp.accounts.models import Account
from idp.extensions import db
from idp.lifecycle import access
from idp.lifecycle.access import EndedAccess
from idp.runtime import runtime
from idp.sessions import service as sessions
from idp.sessions.models import SsoSession

from .security import after_commit

_UNSET = object()


def current() -> SsoSession | None:
    """The live sign-in session of this browser, if any (looked up once per request)."""
    cached = g.get("sso", _UNSET)
    if cached is not _UNSET:
        return cached
    rt = runtime()
    secret = request.cookies.get(rt.settings.session_cookie_name)
    sso = sessions.find(db.session, secret, rt.now(), rt.timeouts) if secret else None
    g.sso = sso
    return sso


def current_account() -> Account | None:
    sso = current()
    return db.session.get(Account, sso.account_id) if sso else None


def client_address() -> str:
    return request.remote_addr or ""


def begin(account: Account, amr: list[str], acr: str) -> SsoSession:
    """Start a fresh session (a new secret every sign-in, ASVS V7.2.4); the previous one ends."""
    rt = runtime()
    previous = current()
    if previous is not None:
        end_sessions(previous.account_id, "replaced", only=[previous.sid])
    sso, secret = sessions.start(
        db.session, account, rt.now(), amr, acr, client_address(), request.headers.get("User-Agent", "")
    )
    g.sso = sso
    g.set_session_cookie = secret
    return sso


def reauthenticated() -> None:
    """The signed-in citizen proved a secret again (a step-up, a password change, a second-factor
    change): the session continues under a new cookie secret (``sessions.rotate``)."""
    sso = current()
    if sso is not None:
        g.set_session_cookie = sessions.rotate(sso)


def end_sessions(account_id: int, reason: str, *, only=None, keep: str | None = None) -> EndedAccess:
    """End sessions of an account (``idp.lifecycle.access.end_sessions``); the agencies holding
    them are told by back-channel logout once this request commits."""
    rt = runtime()
    ended = access.end_sessions(db.session, account_id, rt.now(), reason, only=only, keep=keep)
    if ended.notices:
        after_commit(lambda: access.announce_logout(ended, rt.logout))
    return ended


def end_current(reason: str) -> SsoSession | None:
    sso = current()
    if sso is not None:
        end_sessions(sso.account_id, reason, only=[sso.sid])
    g.sso = None
    g.clear_session_cookie = True
    return sso


def apply_cookie(response: Response) -> Response:
    rt = runtime()
    name = rt.settings.session_cookie_name
    secure = rt.settings.is_https
    secret = g.get("set_session_cookie")
    if secret:
        # A session cookie (no Max-Age): the server enforces the idle and absolute timeouts.
        response.set_cookie(name, secret, httponly=True, secure=secure, samesite="Lax", path="/")
    elif g.get("clear_session_cookie"):
        response.delete_cookie(name, httponly=True, secure=secure, samesite="Lax", path="/")
    return response


def init_app(app: Flask) -> None:
    app.after_request(apply_cookie)
