"""Signing in and out, and the citizen's own password change."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from flask import Blueprint, redirect, render_template, request, url_for
from flask import session as form_session

from idp.accounts import assurance
from idp.accounts import service as accounts
from idp.accounts.errors import AccountError
from idp.accounts.password_policy import MIN_LENGTH
from idp.clients import service as clients
from idp.extensions import db
from idp.lifecycle import citizen
from idp.lifecycle.context import context_for
from idp.oidc.responses import allow_form_target
from idp.runtime import runtime

from . import feedback, session, stash
from .forms import ConfirmForm, LoginForm, PasswordChangeForm

bp = Blueprint("auth", __name__)

#: The stash slot naming the account that passed the password and owes its Ügyfélkapu+ code
#: (idp.web.second_factor).
SECOND_FACTOR_PENDING = "second_factor_pending"
#: How long the password step stays good for the second step.
PENDING_SECONDS = 5 * 60


def safe_next(value: str | None) -> str | None:
    """Only a path on this provider: never an open redirect (ASVS V3.7.2)."""
    if not value or len(value) > 8192 or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return None
    return value


def _client_of(next_url: str | None):
    if not next_url or not next_url.startswith("/authorize?"):
        return None, None
    query = parse_qs(urlsplit(next_url).query)
    client_id = query.get("client_id", [None])[0]
    client = clients.find_active(db.session, client_id) if client_id else None
    return client, query.get("login_hint", [None])[0]


def _allow_return_to_agency(next_url: str | None) -> None:
    """A form whose POST resumes an authorization request may end, through redirects, at the agency.

    Browsers apply the page's CSP ``form-action`` to every redirect that follows a form submission
    (Chromium blocks the whole navigation otherwise), so the page must allow the origin of the
    request's redirect URI, and only when it is one registered for that client.
    """
    client, _hint = _client_of(next_url)
    if client is None:
        return
    redirect_uri = parse_qs(urlsplit(next_url).query).get("redirect_uri", [None])[0]
    if redirect_uri and client.check_redirect_uri(redirect_uri):
        allow_form_target(redirect_uri)


@bp.route("/login", methods=["GET", "POST"])
def login():
    rt = runtime()
    form = LoginForm()
    nxt = safe_next(request.values.get("next"))
    back = url_for("auth.login", next=nxt) if nxt else url_for("auth.login")
    if request.method == "POST":
        if not form.validate():
            feedback.refuse("form_invalid")
            return redirect(back, 303)
        username = form.username.data.strip()
        address = session.client_address()
        form_session["login_username"] = username
        verdict = rt.throttle.check(username, address)
        if not verdict.allowed:
            feedback.refuse("sign_in_throttled", seconds=verdict.retry_after)
            return redirect(back, 303)
        account = accounts.verify_credentials(db.session, rt.passwords, username, form.password.data)
        if account is None:
            rt.throttle.failed(username, address)
            feedback.refuse("sign_in_failed")
            return redirect(back, 303)
        rt.throttle.succeeded(username)
        form_session.pop("login_username", None)
        if account.has_second_factor:
            # Ügyfélkapu+: no session until the second step. Which account passed the password is kept
            # server-side for a few minutes and taken once by the second step (idp.web.stash), so a copy
            # of the cookie replayed afterwards finds nothing.
            stash.keep_once(SECOND_FACTOR_PENDING, {"account": account.id}, ttl=PENDING_SECONDS)
            if account.second_factor_method == assurance.EMAIL:
                from .second_factor import mail_code  # that module builds on this one

                mail_code(account)
            target = url_for("second_factor.sign_in", next=nxt) if nxt else url_for("second_factor.sign_in")
            return redirect(target, 303)
        session.begin(account, amr=[assurance.PWD], acr=assurance.LOW)
        return redirect(nxt or url_for("auth.home"), 303)
    client, hint = _client_of(nxt)
    _allow_return_to_agency(nxt)
    form.next.data = nxt or ""
    form.username.data = form_session.get("login_username") or hint or ""
    return render_template("login.html", form=form, client=client)


@bp.get("/")
def home():
    account = session.current_account()
    return render_template("home.html", account=account, form=ConfirmForm())


@bp.post("/logout")
def logout():
    # CSRFProtect has checked the form's token before this view runs.
    session.end_current("signed_out")
    return redirect(url_for("auth.signed_out"), 303)


@bp.get("/signed-out")
def signed_out():
    return render_template("logged_out.html", client=None)


@bp.route("/account/password", methods=["GET", "POST"])
def change_password():
    rt = runtime()
    account = session.current_account()
    nxt = safe_next(request.values.get("next"))
    if account is None:
        here = url_for("auth.change_password", next=nxt) if nxt else url_for("auth.change_password")
        return redirect(url_for("auth.login", next=here), 303)
    form = PasswordChangeForm()
    back = url_for("auth.change_password", next=nxt) if nxt else url_for("auth.change_password")
    if request.method == "POST":
        if not form.validate():
            feedback.form_errors(form, PasswordChangeForm.INPUTS)
            return redirect(back, 303)
        try:
            sso = session.current()
            citizen.change_password(
                context_for(rt, db.session), account, form.current_password.data, form.new_password.data, rt.now(),
                end_others_but=sso.sid if sso is not None and form.end_other_sessions.data else None,
                address=session.client_address(),
            )
        except AccountError as exc:
            feedback.refuse(exc.reason, min=MIN_LENGTH, **exc.details)
            return redirect(back, 303)
        session.reauthenticated()
        feedback.done("password_changed")
        return redirect(nxt or url_for("auth.home"), 303)
    form.next.data = nxt or ""
    _allow_return_to_agency(nxt)
    return render_template("password.html", form=form, account=account, min_length=MIN_LENGTH)
