"""The citizen's Ügyfélkapu+ settings (``/account/second-factor``): choose the authenticator app or
the emailed code, replace the authenticator, switch, renew recovery codes, turn it off (on a page
of its own that warns first).

The routes join the ``account`` blueprint, whose one guard lets only a signed-in
citizen (``g.citizen``) reach them. A new authenticator is shown as a QR code
and as text; it counts only after a first code from it, and until then the
factor in use keeps working. Recovery codes are shown once: they cross the one
redirect sealed in the stash. Every verb that checks the password and a code
holds its own throttle (``idp.lifecycle.throttling``).
"""

from __future__ import annotations

import base64
import io

import segno
from flask import g, redirect, render_template, request

from idp.accounts import assurance
from idp.accounts.errors import AccountError
from idp.lifecycle import passkeys as passkey_service
from idp.lifecycle import second_factor as service
from idp.lifecycle import signin
from idp.mail.message import masked
from idp.runtime import runtime
from idp.security import totp

from . import feedback, session, stash, throttled
from .account import bp, ctx, here
from .forms import NextForm, PasswordAndCodeForm, SecondFactorChangeForm, SecondFactorCodeForm
from .passkey_forms import PasskeyAddForm
from .signin import send_code_answered

#: Recovery codes just issued, sealed across the one redirect and shown once.
CODES_KIND = "recovery_codes"
CODES_SECONDS = 5 * 60
#: The change form's choices: the service verb each one calls, and what the page says after it.
CHANGES = {
    "app": (service.begin_replacement, "replacement_started"),
    "email": (service.choose_email, "second_factor_email_on"),
    "off": (service.remove, "second_factor_removed"),
}
#: The settings pages a button's form (a code by email) comes back to, by its ``page``.
PAGES = {"recovery": "account.recovery_codes", "off": "account.second_factor_off"}


def _qr_data_uri(uri: str) -> str:
    # An SVG shown as an <img> needs its namespace (segno's inline SVG has none: it would not show).
    svg = io.BytesIO()
    segno.make(uri, error="m").save(svg, kind="svg", scale=5, border=2, xmldecl=False, svgns=True)
    return "data:image/svg+xml;base64," + base64.b64encode(svg.getvalue()).decode("ascii")


def _keep_codes(codes: list[str]) -> None:
    if codes:
        stash.keep(CODES_KIND, {"codes": codes})


def _address_of(account) -> str:
    """Where emailed codes go, as a page may show it (masked, as the mail log does)."""
    return masked(account.email) if account.email else ""


@bp.route("/second-factor", methods=["GET", "POST"])
def second_factor():
    """The settings page; its POST confirms a new authenticator with a first code from it."""
    rt, account = runtime(), g.citizen
    form = SecondFactorCodeForm()
    if request.method == "POST":
        if not form.validate():
            feedback.refuse("form_invalid")
            return redirect(here("account.second_factor"), 303)
        before = account.second_factor_method
        try:
            codes = service.confirm_enrolment(ctx(), account, form.code.data.strip(), rt.now())
        except AccountError as exc:
            if (too_many := throttled.answer(exc, here("account.second_factor"))) is not None:
                return too_many
            feedback.refuse(exc)
            return redirect(here("account.second_factor"), 303)
        # The citizen has just proven the authenticator: the session's level rises with it.
        session.reauthenticated(signin.raise_level(ctx(), session.current(), assurance.OTP, rt.now()))
        _keep_codes(codes)
        feedback.done("authenticator_replaced" if before == assurance.OTP else "second_factor_enrolled")
        return redirect(here("account.second_factor"), 303)
    codes = (stash.take(CODES_KIND, ttl=CODES_SECONDS) or {}).get("codes")
    secret = service.pending_secret(ctx(), account)
    if secret is None and not account.has_second_factor:
        secret = service.begin_enrolment(ctx(), account)
    qr = None
    if secret is not None:
        qr = _qr_data_uri(totp.provisioning_uri(secret, account.username or account.identifier, "Ügyfélkapu"))
    form.next.data = g.next or ""
    return render_template(
        "second_factor.html" if account.has_second_factor else "second_factor_enrol.html",
        account=account, form=form, secret=secret, qr=qr, codes=codes, resume=g.next,
        email_counts=assurance.EMAIL in rt.assurance.substantial_methods, address=_address_of(account),
        change_form=SecondFactorChangeForm(next=g.next or ""), send_form=NextForm(next=g.next or ""),
        cancel_form=NextForm(next=g.next or ""),
        passkeys=passkey_service.listed(ctx(), account) if account.has_second_factor else [],
        passkey_form=PasskeyAddForm(next=g.next or ""),
        passkey_counts=assurance.PASSKEY in rt.assurance.substantial_methods,
    )


@bp.post("/second-factor/change")
def second_factor_change():
    """Replace the authenticator (or leave the emailed code for one), choose the emailed code, or
    turn Ügyfélkapu+ off: one form, the password and a current code."""
    form = SecondFactorChangeForm()
    # Turning it off is asked on its own page (a warning first): a refusal goes back there.
    back = here("account.second_factor_off" if form.action.data == "off" else "account.second_factor")
    if not form.validate():
        feedback.refuse("form_invalid")
        return redirect(back, 303)
    verb, done = CHANGES[form.action.data]
    try:
        result = verb(ctx(), g.citizen, form.current_password.data, (form.code.data or "").strip(), runtime().now(),
                      address=session.client_address())
    except AccountError as exc:
        if (too_many := throttled.answer(exc, back)) is not None:
            return too_many
        feedback.refuse(exc)
        return redirect(back, 303)
    session.rotate_current()
    if form.action.data == "email":
        _keep_codes(result)  # recovery codes when Ügyfélkapu+ was off, none when it replaced the app
    feedback.done(done)
    return redirect(here("account.second_factor"), 303)


@bp.get("/second-factor/off")
def second_factor_off():
    """Turning Ügyfélkapu+ off asks first (issue 12: a destructive action looks like a warning and
    asks for confirmation): what goes with it, then the password and a current code; the form posts
    the change form's ``off``."""
    account = g.citizen
    if not account.has_second_factor:
        return redirect(here("account.second_factor"), 303)
    return render_template(
        "second_factor_off.html", account=account, resume=g.next,
        change_form=SecondFactorChangeForm(next=g.next or "", action="off"),
        send_form=NextForm(next=g.next or "", page="off"),
    )


@bp.post("/second-factor/cancel")
def second_factor_cancel():
    """Drop a new authenticator that was not confirmed; the factor in use stays."""
    if NextForm().validate():
        service.cancel_pending(ctx(), g.citizen)
        feedback.done("replacement_cancelled")
    return redirect(here("account.second_factor"), 303)


@bp.post("/second-factor/send-code")
def second_factor_send_code():
    """A code by email, to confirm a change (emailed-code method)."""
    send_code_answered(lambda: service.send_code(ctx(), g.citizen, runtime().now(), again=True))
    return redirect(here(PAGES.get(NextForm().page.data, "account.second_factor")), 303)


@bp.route("/second-factor/recovery-codes", methods=["GET", "POST"])
def recovery_codes():
    """Ten new recovery codes after the password and a current code; the old ones stop working."""
    account = g.citizen
    if not account.has_second_factor:
        return redirect(here("account.second_factor"), 303)
    form = PasswordAndCodeForm()
    if request.method == "POST":
        if not form.validate():
            feedback.refuse("form_invalid")
            return redirect(here("account.recovery_codes"), 303)
        try:
            codes = service.renew_recovery_codes(ctx(), account, form.current_password.data, form.code.data.strip(),
                                                 runtime().now(), address=session.client_address())
        except AccountError as exc:
            if (too_many := throttled.answer(exc, here("account.recovery_codes"))) is not None:
                return too_many
            feedback.refuse(exc)
        else:
            session.rotate_current()
            _keep_codes(codes)
            feedback.done("recovery_codes_renewed")
        return redirect(here("account.recovery_codes"), 303)
    form.next.data = g.next or ""
    return render_template(
        "second_factor_recovery.html", account=account, form=form, resume=g.next,
        codes=(stash.take(CODES_KIND, ttl=CODES_SECONDS) or {}).get("codes"),
        send_form=NextForm(next=g.next or "", page="recovery"),
    )
