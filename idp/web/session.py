"""The browser's cookies of the sign-in: the session and the interaction binding.

The sign-in session cookie holds a random secret (only its digest is stored).
HttpOnly, Secure over https (and then ``__Host-`` prefixed), SameSite=Lax so
the citizen arriving from an agency's link is still recognised (single
sign-on), while cross-site POSTs carry no session: a POSTed authorization
request is stored as an interaction and continued by a same-site GET, which
does carry it (``idp.web.oauth``).

The browser cookie binds interactions to the browser that started them
(``idp.interactions``): a random value, HttpOnly and Lax as well, kept for the
browser's session; only its digest is stored on the record.
"""

from __future__ import annotations

from flask import Flask, Response, g, request
from flask import session as form_session

from idp.accounts.models import Account
from idp.extensions import db
from idp.interactions.service import new_browser_secret
from idp.lifecycle import access
from idp.lifecycle.access import EndedAccess
from idp.lifecycle.signin import Device, SignedIn
from idp.runtime import runtime
from idp.sessions import service as sessions
from idp.sessions.models import SsoSession

from .security import after_commit

_UNSET = object()

#: In the form session: the sign-in session that activation just began (rule 6), so the password
#: page that follows does not ask for the initial password the citizen has just typed.
JUST_ACTIVATED = "just_activated"
JUST_ACTIVATED_SECONDS = 30 * 60


def just_activated(account: Account | None) -> bool:
    """This sign-in session began with the activation, a short while ago, and the account still has
    its initial password: the initial password counts as proven for the first password change."""
    marker = form_session.get(JUST_ACTIVATED)
    sso = current()
    if not isinstance(marker, dict) or sso is None or account is None or not account.must_change_password:
        return False
    age = runtime().now().timestamp() - float(marker.get("at", 0))
    return marker.get("sid") == sso.sid and sso.account_id == account.id and 0 <= age <= JUST_ACTIVATED_SECONDS


def forget_activation() -> None:
    form_session.pop(JUST_ACTIVATED, None)


def current() -> SsoSession | None:
    """The live sign-in session of this browser, if any (looked up once per request)."""
    cached = g.get("sso", _UNSET)
    if cached is not _UNSET:
        return cached
    rt = runtime()
    secret = request.cookies.get(rt.settings.session_cookie_name)
    found = sessions.find(db.session, secret, rt.now(), rt.timeouts) if secret else None
    # The account loaded with the session is held here: the ORM's identity map keeps it only weakly.
    g.sso, g.sso_account = found or (None, None)
    return g.sso


def current_account() -> Account | None:
    sso = current()
    if sso is None:
        return None
    account = g.get("sso_account")
    if account is None or account.id != sso.account_id:
        account = db.session.get(Account, sso.account_id)
    return account


def client_address() -> str:
    return request.remote_addr or ""


def device() -> Device:
    return Device(client_address(), request.headers.get("User-Agent", ""), device_cookie())


#: How long a browser keeps its device cookie (browsers cap a cookie's life at 400 days).
DEVICE_COOKIE_SECONDS = 400 * 86400


def _device_cookie_name() -> str:
    return "__Host-idp_device" if runtime().settings.is_https else "idp_device"


def device_cookie() -> str:
    """This browser's long-lived device value (``idp.accounts.devices``: a sign-in from a browser the
    account has not used is told to the citizen); a new one, set on the response, when it has none."""
    value = g.get("device") or request.cookies.get(_device_cookie_name())
    if value and 32 <= len(value) <= 128:
        return value
    g.device = g.set_device_cookie = new_browser_secret()
    return g.device


def signed_in(result: SignedIn) -> SsoSession:
    """The sign-in verb started a session (``idp.lifecycle.signin``): this browser holds it from now on."""
    g.sso = result.session
    g.set_session_cookie = result.secret
    return result.session


def reauthenticated(secret: str) -> None:
    """The session continues under a new cookie secret (``sessions.rotate``)."""
    g.set_session_cookie = secret


def rotate_current() -> None:
    """The signed-in citizen proved a secret again (a password change, a second-factor change): a new
    cookie secret for the session (ASVS 5.0 V7.2.4)."""
    sso = current()
    if sso is not None:
        reauthenticated(sessions.rotate(sso))


def end_sessions(account_id: int, reason: str, *, only=None, keep: str | None = None) -> EndedAccess:
    """End sessions of an account (``idp.lifecycle.access.end_sessions``); the agencies holding
    them are told by back-channel logout once this request commits."""
    rt = runtime()
    ended = access.end_sessions(db.session, account_id, rt.now(), reason, only=only, keep=keep)
    if ended.notices:
        after_commit(lambda: access.announce_logout(ended, rt.logout))
    return ended


def forget_current() -> None:
    """This browser's session was ended by a verb (a recovered password): drop its cookie."""
    g.sso = None
    g.clear_session_cookie = True


def end_current(reason: str) -> SsoSession | None:
    sso = current()
    if sso is not None:
        end_sessions(sso.account_id, reason, only=[sso.sid])
    g.sso = None
    g.clear_session_cookie = True
    return sso


def _browser_cookie_name() -> str:
    return "__Host-idp_browser" if runtime().settings.is_https else "idp_browser"


def browser(*, create: bool = False) -> str | None:
    """This browser's binding value for interactions; a new one (set on the response) when asked to
    create and the request carries none."""
    value = g.get("browser") or request.cookies.get(_browser_cookie_name())
    if value and len(value) <= 128:
        return value
    if not create:
        return None
    g.browser = g.set_browser_cookie = new_browser_secret()
    return g.browser


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
    known = g.get("set_device_cookie")
    if known:
        response.set_cookie(_device_cookie_name(), known, max_age=DEVICE_COOKIE_SECONDS, httponly=True, secure=secure,
                            samesite="Lax", path="/")
    binding = g.get("set_browser_cookie")
    if binding:
        response.set_cookie(_browser_cookie_name(), binding, httponly=True, secure=secure, samesite="Lax", path="/")
    return response


def init_app(app: Flask) -> None:
    app.after_request(apply_cookie)
