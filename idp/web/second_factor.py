"""Ügyfélkapu+ pages: the second sign-in step, step-up, and the citizen's enrolment page.

The second step runs in two situations: right after the password (the Flask
session holds which account passed it, for a few minutes; no sign-in session
exists yet), and as a step-up when an agency asks for ``substantial`` and the
live session is ``low`` (the session's level is raised, nobody signs in again).
"""

from __future__ import annotations

import base64
import segno
from flask import Blueprint, flash, redirect, render_template, request, url_for

from idp.accounts import assurance
from idp.accounts.errors import AccountError
from idp.accounts.models import Account
from idp.extensions import db
from idp.lifecycle import second_factor as service
from idp.lifecycle.context import context_for
from idp.runtime import runtime
from idp.security import totp
from idp.sessions import service as sessions

from . import messages, session, stash
from .auth import SECOND_FACTOR_PENDING, _allow_return_to_agency, _client_of, _flash_reason, safe_next
from .forms import SecondFactorCodeForm, SecondFactorRemoveForm

bp = Blueprint("second_factor", __name__)

#: How long the password step stays good for the second step (idp.web.stash dates it).
PENDING_SECONDS = 5 * 60
#: Which account passed the password (sealed in the form-session cookie; no sign-in session yet).
PENDING_KIND = SECOND_FACTOR_PENDING
#: The recovery codes just issued, sealed across the one redirect and shown once.
CODES_KIND = "recovery_codes"
AMR_PWD_OTP = ["pwd", "otp"]


def _pending_account() -> Account | None:
    pending = stash.peek(PENDING_KIND, ttl=PENDING_SECONDS)
    account = db.session.get(Account, pending.get("account")) if pending else None
    return account if account is not None and account.has_second_factor else None


def _here(endpoint: str, nxt: str | None) -> str:
    return url_for(endpoint, next=nxt) if nxt else url_for(endpoint)


@bp.route("/login/second-factor", methods=["GET", "POST"])
def sign_in():
    rt = runtime()
    nxt = safe_next(request.values.get("next"))
    sso = session.current()
    account = _pending_account()
    stepping_up = account is None and sso is not None
    if stepping_up:
        account = db.session.get(Account, sso.account_id)
    if account is None or not account.has_second_factor:
        return redirect(_here("auth.login", nxt), 303)
    form = SecondFactorCodeForm()
    back = _here("second_factor.sign_in", nxt)
    if request.method == "POST":
        if not form.validate():
            _flash_reason("form_invalid")
            return redirect(back, 303)
        key, address = "second-factor:" + account.identifier, session.client_address()
        verdict = rt.throttle.check(key, address)
        if not verdict.allowed:
            _flash_reason("sign_in_throttled", seconds=verdict.retry_after)
            return redirect(back, 303)
        try:
            # A recovery code stands in for the authenticator: RFC 8176 has no method of its own for it.
            service.verify(context_for(rt, db.session), account, form.code.data.strip(), rt.now())
        except AccountError as exc:
            rt.throttle.failed(key, address)
            _flash_reason(exc.reason)
            return redirect(back, 303)
        rt.throttle.succeeded(key)
        if stepping_up:
            sessions.step_up(sso, "otp", assurance.level_for(AMR_PWD_OTP), rt.now())
        else:
            stash.drop(PENDING_KIND)
            session.begin(account, amr=AMR_PWD_OTP, acr=assurance.level_for(AMR_PWD_OTP))
        return redirect(nxt or url_for("auth.home"), 303)
    client, _hint = _client_of(nxt)
    _allow_return_to_agency(nxt)
    form.next.data = nxt or ""
    return render_template("second_factor_sign_in.html", form=form, client=client, stepping_up=stepping_up)


def _qr_data_uri(uri: str) -> str:
    svg = segno.make(uri, error="m").svg_inline(scale=5, border=2)
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


@bp.route("/account/second-factor", methods=["GET", "POST"])
def enrol():
    rt = runtime()
    nxt = safe_next(request.values.get("next"))
    account = session.current_account()
    here = _here("second_factor.enrol", nxt)
    if account is None:
        return redirect(url_for("auth.login", next=here), 303)
    ctx = context_for(rt, db.session)
    form = SecondFactorCodeForm()
    if request.method == "POST":
        if not form.validate():
            _flash_reason("form_invalid")
            return redirect(here, 303)
        try:
            codes = service.confirm_enrolment(ctx, account, form.code.data.strip(), rt.now())
        except AccountError as exc:
            _flash_reason(exc.reason)
            return redirect(here, 303)
        sso = session.current()
        if sso is not None:
            # The citizen has just proven the authenticator: this session is now ``substantial``.
            sessions.step_up(sso, "otp", assurance.level_for(AMR_PWD_OTP), rt.now())
        stash.keep(CODES_KIND, {"codes": codes})
        flash(str(messages.FORM_DONE["second_factor_enrolled"]), "success")
        return redirect(here, 303)
    codes = (stash.take(CODES_KIND, ttl=PENDING_SECONDS) or {}).get("codes")
    if account.has_second_factor:
        return render_template(
            "second_factor.html", account=account, codes=codes, resume=nxt, remove_form=SecondFactorRemoveForm()
        )
    secret = service.pending_secret(ctx, account) or service.begin_enrolment(ctx, account)
    uri = totp.provisioning_uri(secret, account.username or account.identifier, "Ügyfélkapu")
    form.next.data = nxt or ""
    return render_template(
        "second_factor_enrol.html", account=account, form=form, secret=secret, qr=_qr_data_uri(uri)
    )


@bp.post("/account/second-factor/remove")
def remove():
    rt = runtime()
    account = session.current_account()
    if account is None:
        return redirect(url_for("auth.login", next=url_for("second_factor.enrol")), 303)
    form = SecondFactorRemoveForm()
    if not form.validate():
        _flash_reason("form_invalid")
        return redirect(url_for("second_factor.enrol"), 303)
    key, address = "second-factor:" + account.identifier, session.client_address()
    verdict = rt.throttle.check(key, address)
    if not verdict.allowed:
        _flash_reason("sign_in_throttled", seconds=verdict.retry_after)
        return redirect(url_for("second_factor.enrol"), 303)
    try:
        service.remove(context_for(rt, db.session), account, form.password.data, form.code.data.strip(), rt.now())
    except AccountError as exc:
        rt.throttle.failed(key, address)
        _flash_reason(exc.reason)
        return redirect(url_for("second_factor.enrol"), 303)
    rt.throttle.succeeded(key)
    flash(str(messages.FORM_DONE["second_factor_removed"]), "success")
    return redirect(url_for("second_factor.enrol"), 303)
