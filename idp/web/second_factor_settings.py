"""The citizen's Ügyfélkapu+ settings (``/account/second-factor``): choose the authenticator app or
the emailed code, replace the authenticator, switch, renew recovery codes, turn it off.

The routes join the ``second_factor`` blueprint, whose ``before_request`` guard
lets only a signed-in citizen (``g.citizen``) reach any of them. A new
authenticator is shown as a QR code and as text; it counts only after a first
code from it, and until then the factor in use keeps working. Recovery codes
are shown once: they cross the one redirect sealed in the stash.
"""

from __future__ import annotations

import base64
import io

import segno
from flask import g, redirect, render_template, request

from idp.accounts import assurance
from idp.accounts.errors import AccountError
from idp.extensions import db
from idp.lifecycle import second_factor as service
from idp.lifecycle.context import context_for
from idp.runtime import runtime
from idp.security import totp

from . import feedback, session, stash
from .auth import safe_next
from .forms import NextForm, PasswordAndCodeForm, SecondFactorChangeForm, SecondFactorCodeForm
from .second_factor import (
    PENDING_SECONDS, REFUSED, SETTINGS_PATH, address_of, bp, checked, here, mail_code, step_up,
)

#: Recovery codes just issued, sealed across the one redirect and shown once.
CODES_KIND = "recovery_codes"
#: The change form's choices: the service verb each one calls, and what the page says after it.
CHANGES = {
    "app": (service.begin_replacement, "replacement_started"),
    "email": (service.choose_email, "second_factor_email_on"),
    "off": (service.remove, "second_factor_removed"),
}


def _qr_data_uri(uri: str) -> str:
    # An SVG shown as an <img> needs its namespace (segno's inline SVG has none: it would not show).
    svg = io.BytesIO()
    segno.make(uri, error="m").save(svg, kind="svg", scale=5, border=2, xmldecl=False, svgns=True)
    return "data:image/svg+xml;base64," + base64.b64encode(svg.getvalue()).decode("ascii")


def _done(key: str) -> None:
    feedback.done(key)


def _keep_codes(codes: list[str]) -> None:
    if codes:
        stash.keep(CODES_KIND, {"codes": codes})


@bp.route(SETTINGS_PATH, methods=["GET", "POST"])
def enrol():
    """The settings page; its POST confirms a new authenticator with a first code from it."""
    rt, account = runtime(), g.citizen
    nxt = safe_next(request.values.get("next"))
    ctx = context_for(rt, db.session)
    form = SecondFactorCodeForm()
    if request.method == "POST":
        if not form.validate():
            feedback.refuse("form_invalid")
            return redirect(here("second_factor.enrol", nxt), 303)
        before = account.second_factor_method
        try:
            codes = service.confirm_enrolment(ctx, account, form.code.data.strip(), rt.now())
        except AccountError as exc:
            feedback.refuse(exc)
            return redirect(here("second_factor.enrol", nxt), 303)
        sso = session.current()
        if sso is not None:
            step_up(sso, assurance.OTP)  # the citizen has just proven the authenticator
        _keep_codes(codes)
        _done("authenticator_replaced" if before == assurance.OTP else "second_factor_enrolled")
        return redirect(here("second_factor.enrol", nxt), 303)
    codes = (stash.take(CODES_KIND, ttl=PENDING_SECONDS) or {}).get("codes")
    secret = service.pending_secret(ctx, account)
    if secret is None and not account.has_second_factor:
        secret = service.begin_enrolment(ctx, account)
    qr = None
    if secret is not None:
        qr = _qr_data_uri(totp.provisioning_uri(secret, account.username or account.identifier, "Ügyfélkapu"))
    form.next.data = nxt or ""
    return render_template(
        "second_factor.html" if account.has_second_factor else "second_factor_enrol.html",
        account=account, form=form, secret=secret, qr=qr, codes=codes, resume=nxt,
        email_counts=assurance.EMAIL in rt.assurance.substantial_methods, address=address_of(account),
        change_form=SecondFactorChangeForm(next=nxt or ""), send_form=NextForm(next=nxt or ""),
        cancel_form=NextForm(next=nxt or ""),
    )


@bp.post(SETTINGS_PATH + "/change")
def change():
    """Replace the authenticator (or leave the emailed code for one), choose the emailed code, or
    turn Ügyfélkapu+ off: one form, the password and a current code."""
    account = g.citizen
    form = SecondFactorChangeForm()
    nxt = safe_next(form.next.data)
    if not form.validate():
        feedback.refuse("form_invalid")
        return redirect(here("second_factor.enrol", nxt), 303)
    verb, done = CHANGES[form.action.data]
    result = checked(account, verb, form.current_password.data, (form.code.data or "").strip())
    if result is not REFUSED:
        if form.action.data == "email":
            _keep_codes(result)  # recovery codes when Ügyfélkapu+ was off, none when it replaced the app
        _done(done)
    return redirect(here("second_factor.enrol", nxt), 303)


@bp.post(SETTINGS_PATH + "/cancel")
def cancel():
    """Drop a new authenticator that was not confirmed; the factor in use stays."""
    form = NextForm()
    if form.validate():
        service.cancel_pending(context_for(runtime(), db.session), g.citizen)
        _done("replacement_cancelled")
    return redirect(here("second_factor.enrol", safe_next(form.next.data)), 303)


@bp.post(SETTINGS_PATH + "/send-code")
def send_settings_code():
    """A code by email, to confirm a change (emailed-code method)."""
    form = NextForm()
    if form.validate():
        mail_code(g.citizen, again=True)
    else:
        feedback.refuse("form_invalid")
    target = "second_factor.recovery_codes" if form.page.data == "recovery" else "second_factor.enrol"
    return redirect(here(target, safe_next(form.next.data)), 303)


@bp.route(SETTINGS_PATH + "/recovery-codes", methods=["GET", "POST"])
def recovery_codes():
    """Ten new recovery codes after the password and a current code; the old ones stop working."""
    account = g.citizen
    if not account.has_second_factor:
        return redirect(here("second_factor.enrol", None), 303)
    form = PasswordAndCodeForm()
    nxt = safe_next(request.values.get("next"))
    if request.method == "POST":
        if not form.validate():
            feedback.refuse("form_invalid")
        else:
            codes = checked(account, service.renew_recovery_codes, form.current_password.data, form.code.data.strip())
            if codes is not REFUSED:
                _keep_codes(codes)
                _done("recovery_codes_renewed")
        return redirect(here("second_factor.recovery_codes", nxt), 303)
    form.next.data = nxt or ""
    return render_template(
        "second_factor_recovery.html", account=account, form=form, resume=nxt,
        codes=(stash.take(CODES_KIND, ttl=PENDING_SECONDS) or {}).get("codes"),
        send_form=NextForm(next=nxt or "", page="recovery"),
    )
