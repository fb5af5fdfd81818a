"""The citizen's passkeys and security keys on ``/account/second-factor``: add one, remove one.

The routes join the ``account`` blueprint (its one guard: a signed-in citizen, ``g.citizen``).
Adding takes two steps: a form with the passkey's name, the password and a current Ügyfélkapu+
code (checked and throttled by ``idp.lifecycle.passkeys.begin_registration``), then a page whose
button asks the browser to make the key (``static/passkeys.js``) and posts its answer; the
challenge waits server-side, once, between them (``idp.web.passkey_ceremony``). Removing asks
for the password and a current code on its own confirmation page.
"""

from __future__ import annotations

from flask import g, redirect, render_template, request, url_for

from idp.accounts import passkeys as rules
from idp.accounts.errors import AccountError
from idp.lifecycle import passkeys as service
from idp.runtime import runtime

from . import feedback, passkey_ceremony, session, throttled
from .account import bp, ctx, here
from .forms import NextForm
from .passkey_forms import PasskeyAddForm, PasskeyAnswerForm, PasskeyRemoveForm



def _removal(passkey_id: int) -> str:
    return url_for("account.passkey_remove", passkey_id=passkey_id, next=g.next) if g.next else url_for(
        "account.passkey_remove", passkey_id=passkey_id)


@bp.post("/second-factor/passkeys")
def passkey_start():
    """The name, the password and a current code: then the browser makes the key."""
    form = PasskeyAddForm()
    if not form.validate():
        feedback.refuse("form_invalid")
        return redirect(here("account.second_factor"), 303)
    account = g.citizen
    try:
        name = service.begin_registration(ctx(), account, form.current_password.data, form.code.data,
                                          form.name.data, runtime().now(), address=session.client_address())
    except AccountError as exc:
        if (too_many := throttled.answer(exc, here("account.second_factor"))) is not None:
            return too_many
        feedback.refuse(exc)
        return redirect(here("account.second_factor"), 303)
    ceremony = service.registration(ctx(), passkey_ceremony.relying_party(), account, rules.new_challenge())
    passkey_ceremony.keep(passkey_ceremony.REGISTER, ceremony, account.id, name=name)
    return redirect(here("account.passkey_new"), 303)


@bp.route("/second-factor/passkeys/new", methods=["GET", "POST"])
def passkey_new():
    """GET: the button that makes the key; POST: the browser's answer, verified and kept."""
    account = g.citizen
    if request.method == "POST":
        kept = passkey_ceremony.take(passkey_ceremony.REGISTER, account.id)
        form = PasskeyAnswerForm()
        answer = form.credential.data if form.validate() else None
        if kept is None or not answer:
            feedback.refuse("passkey_expired" if kept is None else "passkey_failed")
            return redirect(here("account.second_factor"), 303)
        name = kept.get("name") or ""
        try:
            secret = service.register(ctx(), passkey_ceremony.relying_party(), account,
                                      passkey_ceremony.ceremony_of(kept), answer, name, runtime().now(),
                                      sso=session.current())
        except AccountError as exc:
            feedback.refuse(exc)
            return redirect(here("account.second_factor"), 303)
        if secret:
            session.reauthenticated(secret)
        feedback.done("passkey_added", name=name)
        return redirect(here("account.second_factor"), 303)
    pending = passkey_ceremony.peek(passkey_ceremony.REGISTER, account.id)
    if pending is None:
        return redirect(here("account.second_factor"), 303)
    options = service.registration(ctx(), passkey_ceremony.relying_party(), account, pending["challenge"],
                                   pending.get("user_handle") or "").options
    return render_template("passkey_new.html", account=account, name=pending.get("name") or "",
                           form=PasskeyAnswerForm(next=g.next or ""), options=options)


@bp.route("/second-factor/passkeys/<int:passkey_id>/remove", methods=["GET", "POST"])
def passkey_remove(passkey_id: int):
    """Remove a passkey: a warning, then the password and a current code."""
    account = g.citizen
    try:
        passkey = rules.find(ctx().session, account, passkey_id)
    except AccountError as exc:
        feedback.refuse(exc)
        return redirect(here("account.second_factor"), 303)
    form = PasskeyRemoveForm()
    if request.method == "POST":
        if not form.validate():
            feedback.refuse("form_invalid")
            return redirect(_removal(passkey_id), 303)
        name = passkey.name
        try:
            service.remove(ctx(), account, passkey_id, form.current_password.data, form.code.data, runtime().now(),
                           address=session.client_address())
        except AccountError as exc:
            if (too_many := throttled.answer(exc, _removal(passkey_id))) is not None:
                return too_many
            feedback.refuse(exc)
            return redirect(_removal(passkey_id), 303)
        session.rotate_current()
        feedback.done("passkey_removed", name=name)
        return redirect(here("account.second_factor"), 303)
    form.next.data = g.next or ""
    return render_template("passkey_remove.html", account=account, passkey=passkey, form=form,
                           send_form=NextForm(next=g.next or ""))
