"""Ügyfélkapu+ pages: the second sign-in step and step-up (the citizen's own settings pages are in
``idp.web.second_factor_settings``, on this blueprint).

The second step runs in two situations: right after the password (the Flask
session holds which account passed it, for a few minutes; no sign-in session
exists yet), and as a step-up when an agency asks for a level the live session
does not reach (the session's level is raised, nobody signs in again). With the
emailed-code method the code is mailed right after the password; the page
offers a new one (rate-limited by ``idp.accounts.email_code``).

A code of either kind is throttled like a password, under its own key
(``second-factor:<identifier>``), wherever it is typed.
"""

from __future__ import annotations

from flask import Blueprint, g, redirect, render_template, request, url_for

from idp.accounts import assurance
from idp.accounts.errors import AccountError
from idp.accounts.models import Account
from idp.extensions import db
from idp.lifecycle import second_factor as service
from idp.lifecycle.context import context_for
from idp.mail.message import masked
from idp.runtime import runtime
from idp.sessions import service as sessions

from . import feedback, session, stash
from .auth import PENDING_SECONDS, SECOND_FACTOR_PENDING, _allow_return_to_agency, _client_of, safe_next
from .forms import NextForm, SecondFactorCodeForm

bp = Blueprint("second_factor", __name__)

#: Which account passed the password (kept server-side, its id in the form-session cookie).
PENDING_KIND = SECOND_FACTOR_PENDING
#: The citizen's settings pages (idp.web.second_factor_settings): every one needs a signed-in citizen.
SETTINGS_PATH = "/account/second-factor"
#: What a refused code check returns (the reason is flashed).
REFUSED = object()


@bp.before_request
def _settings_need_a_citizen():
    """One guard for the whole settings surface, not a decorator per route (STYLE.md habit 7)."""
    if request.path != SETTINGS_PATH and not request.path.startswith(SETTINGS_PATH + "/"):
        return None
    account = session.current_account()
    if account is None:
        back = safe_next(request.full_path.rstrip("?")) if request.method == "GET" else SETTINGS_PATH
        return redirect(url_for("auth.login", next=back), 303)
    g.citizen = account
    return None


def here(endpoint: str, nxt: str | None, **values) -> str:
    return url_for(endpoint, next=nxt, **values) if nxt else url_for(endpoint, **values)


def checked(account: Account, verb, *args):
    """Run a service verb that checks a code (and the password), throttled like a password.
    Returns the verb's result, or ``REFUSED`` after flashing why."""
    rt = runtime()
    key, address = "second-factor:" + account.identifier, session.client_address()
    verdict = rt.throttle.check(key, address)
    if not verdict.allowed:
        feedback.refuse("sign_in_throttled", seconds=verdict.retry_after)
        return REFUSED
    try:
        result = verb(context_for(rt, db.session), account, *args, rt.now())
    except AccountError as exc:
        rt.throttle.failed(key, address)
        feedback.refuse(exc)
        return REFUSED
    rt.throttle.succeeded(key)
    session.reauthenticated()
    return result


def mail_code(account: Account, *, again: bool = False) -> None:
    """Mail an emailed-method code (right after the password, or when the citizen asks for a new
    one); the next page says what happened."""
    rt = runtime()
    try:
        sent = service.send_code(context_for(rt, db.session), account, rt.now(), again=again)
    except AccountError as exc:
        feedback.refuse(exc)
        return
    if not sent:
        feedback.refuse("email_code_not_sent")
    elif again:
        feedback.done("email_code_sent")


def step_up(sso, method: str) -> None:
    """A code proven within a live session: its level rises as the assurance policy says."""
    rt = runtime()
    amr = [*(sso.amr or ()), method]
    sessions.step_up(sso, method, assurance.level_for(amr, rt.assurance), rt.now())


def address_of(account: Account) -> str:
    """Where emailed codes go, as a page may show it (masked, as the mail log does)."""
    return masked(account.email) if account.email else ""


def _who() -> tuple[Account | None, object | None]:
    """The account that passed the password and owes its code (no session yet), or else the
    signed-in citizen stepping up (with the session)."""
    pending = stash.peek_once(PENDING_KIND, ttl=PENDING_SECONDS)
    account = db.session.get(Account, pending.get("account")) if pending else None
    if account is not None and account.has_second_factor:
        return account, None
    sso = session.current()
    account = db.session.get(Account, sso.account_id) if sso is not None else None
    if account is not None and account.has_second_factor:
        return account, sso
    return None, None


@bp.route("/login/second-factor", methods=["GET", "POST"])
def sign_in():
    rt = runtime()
    nxt = safe_next(request.values.get("next"))
    account, sso = _who()
    if account is None:
        return redirect(here("auth.login", nxt), 303)
    form = SecondFactorCodeForm()
    if request.method == "POST":
        if not form.validate():
            feedback.refuse("form_invalid")
            return redirect(here("second_factor.sign_in", nxt), 303)
        method = checked(account, service.verify, form.code.data.strip())
        if method is REFUSED:
            return redirect(here("second_factor.sign_in", nxt), 303)
        # A recovery code stands in for the authenticator: RFC 8176 has no method of its own for it.
        used = assurance.EMAIL if method == assurance.EMAIL else assurance.OTP
        if sso is not None:
            step_up(sso, used)
        else:
            if stash.take_once(PENDING_KIND, ttl=PENDING_SECONDS) is None:  # another request used it first
                return redirect(here("auth.login", nxt), 303)
            amr = [assurance.PWD, used]
            session.begin(account, amr=amr, acr=assurance.level_for(amr, rt.assurance))
        return redirect(nxt or url_for("auth.home"), 303)
    client, _hint = _client_of(nxt)
    _allow_return_to_agency(nxt)
    form.next.data = nxt or ""
    waiting = service.code_waiting(context_for(rt, db.session), account, rt.now())
    return render_template(
        "second_factor_sign_in.html", form=form, client=client, stepping_up=sso is not None,
        method=account.second_factor_method, address=address_of(account), waiting=waiting,
        send_form=NextForm(next=nxt or ""),
    )


@bp.post("/login/second-factor/send")
def send_code():
    nxt = safe_next(request.values.get("next"))
    account, _sso = _who()
    if account is None:
        return redirect(here("auth.login", nxt), 303)
    if NextForm().validate():
        mail_code(account, again=True)
    else:
        feedback.refuse("form_invalid")
    return redirect(here("second_factor.sign_in", nxt), 303)
