"""A forgotten password, recovered from home (``idp.lifecycle.recovery``): the request page, the
page every request answers with, the mailed link, the Ügyfélkapu+ code and the new password; and
``/.well-known/change-password`` (W3C "A Well-Known URL for Changing Passwords").

The routes join the ``auth`` blueprint (``/recover…``). The request always ends on the same page
with the same status (303, then 200), and the mail leaves from a worker thread
(``idp.mail.deferred``), so neither the page nor its timing says whether an account matched.
A link (``/recover/link?token=…``: a query string, which the access log leaves out) is taken out
of the address bar: its token is sealed into the form session
(``stash``) and the browser continues at ``/recover/password``; the token never reaches a log line
or a Referer header (``Referrer-Policy: no-referrer`` everywhere).
"""

from __future__ import annotations

from flask import current_app, redirect, render_template, request, url_for

from idp.accounts.errors import AccountError
from idp.accounts.password_policy import MIN_LENGTH
from idp.extensions import db
from idp.lifecycle import recovery
from idp.lifecycle.context import context_for
from idp.mail.deferred import Deferred
from idp.mail.message import masked
from idp.runtime import runtime

from . import feedback, passkey_ceremony, session, signin, stash, throttled
from .auth import bp
from .forms import NextForm, RecoveryPasswordForm, RecoveryRequestForm, SecondFactorCodeForm
from .passkey_forms import PasskeyAnswerForm

#: Where the app keeps its ``Deferred`` (``app.extensions``).
DEFERRED = "idp.deferred_mail"
#: The token of the link being used, sealed in the form session (never in the address bar).
LINK = "recovery_link"


def _ctx():
    return context_for(runtime(), db.session)


def deferred_mail() -> Deferred:
    """This process's sender of mail that must not make the answer wait (``idp.mail.deferred``)."""
    deferred = current_app.extensions.get(DEFERRED)
    if deferred is None:
        deferred = current_app.extensions.setdefault(DEFERRED, Deferred())
    return deferred


def _token() -> str | None:
    kept = stash.peek(LINK, ttl=int(runtime().settings.recovery.link_minutes) * 60)
    return kept.get("token") if kept else None


@bp.route("/recover", methods=["GET", "POST"])
def recover():
    """Username and email in; the same answer for every account."""
    form = RecoveryRequestForm()
    if not form.is_submitted():
        form.username.data = (stash.take("recovery_typed") or {}).get("username", "")
        return render_template("recover.html", form=form)
    if not form.validate():
        feedback.form_errors(form, RecoveryRequestForm.INPUTS)
        stash.keep("recovery_typed", {"username": (form.username.data or "")[:64]})
        return redirect(url_for("auth.recover"), 303)
    recovery.request_link(_ctx(), form.username.data, form.email.data, runtime().now(),
                          address=session.client_address(), later=deferred_mail())
    return redirect(url_for("auth.recover_sent"), 303)


@bp.get("/recover/sent")
def recover_sent():
    minutes = runtime().settings.recovery.link_minutes
    return render_template("recover_sent.html", minutes=minutes)


@bp.get("/recover/link")
def recover_link():
    """The mailed link (its token in the query string, which the access log leaves out): checked,
    then continued without the token in the address."""
    token = request.args.get("token", "")
    try:
        recovery.open_link(_ctx(), token, runtime().now())
    except AccountError as exc:
        feedback.refuse(exc)
        return redirect(url_for("auth.recover"), 303)
    stash.keep(LINK, {"token": token})
    return redirect(url_for("auth.recover_password"), 303)


def _open() -> recovery.LinkState | None:
    token = _token()
    if token is None:
        return None
    try:
        return recovery.open_link(_ctx(), token, runtime().now())
    except AccountError:
        stash.drop(LINK)
        return None


def _lost():
    feedback.refuse("recovery_link_invalid")
    return redirect(url_for("auth.recover"), 303)


@bp.get("/recover/password")
def recover_password():
    state = _open()
    if state is None:
        return _lost()
    if state.factor_owed:
        waiting = False
        if state.factor_owed == "email":
            try:
                waiting = recovery.send_code(_ctx(), _token(), runtime().now())
            except AccountError as exc:
                feedback.refuse(exc)
        return render_template(
            "recover_code.html", form=SecondFactorCodeForm(), method=state.factor_owed, waiting=waiting,
            address=masked(state.account.email) if state.account.email else "", send_form=NextForm(),
            passkey_options=passkey_ceremony.offer_use(state.account, passkey_ceremony.RECOVER),
            passkey_action=url_for("auth.recover_passkey"), passkey_form=PasskeyAnswerForm(),
        )
    return render_template("recover_password.html", form=RecoveryPasswordForm(), account=state.account,
                           min_length=MIN_LENGTH)


@bp.post("/recover/code")
def recover_code():
    """The Ügyfélkapu+ code (authenticator, emailed, or a recovery code) before the new password."""
    token = _token()
    if token is None:
        return _lost()
    form = SecondFactorCodeForm()
    if not form.validate():
        feedback.refuse("form_invalid")
        return redirect(url_for("auth.recover_password"), 303)
    try:
        recovery.prove_factor(_ctx(), token, form.code.data, runtime().now(), address=session.client_address())
    except AccountError as exc:
        if (too_many := throttled.answer(exc, url_for("auth.recover_password"))) is not None:
            return too_many
        feedback.refuse(exc)
    return redirect(url_for("auth.recover_password"), 303)


@bp.post("/recover/passkey")
def recover_passkey():
    """One of the account's passkeys as the Ügyfélkapu+ proof before the new password."""
    state = _open()
    if state is None:
        return _lost()
    kept = passkey_ceremony.take(passkey_ceremony.RECOVER, state.account.id)
    form = PasskeyAnswerForm()
    answer = form.credential.data if form.validate() and form.credential.data else None
    if kept is None or answer is None:
        feedback.refuse("passkey_failed")
        return redirect(url_for("auth.recover_password"), 303)
    try:
        recovery.prove_passkey(_ctx(), passkey_ceremony.relying_party(), _token(), kept["challenge"], answer,
                               runtime().now(), address=session.client_address())
    except AccountError as exc:
        if (too_many := throttled.answer(exc, url_for("auth.recover_password"))) is not None:
            return too_many
        feedback.refuse(exc)
    return redirect(url_for("auth.recover_password"), 303)


@bp.post("/recover/code/send")
def recover_send_code():
    token = _token()
    if token is None:
        return _lost()
    signin.send_code_answered(lambda: recovery.send_code(_ctx(), token, runtime().now(), again=True))
    return redirect(url_for("auth.recover_password"), 303)


@bp.post("/recover/password")
def recover_password_submit():
    token = _token()
    if token is None:
        return _lost()
    form = RecoveryPasswordForm()
    if not form.validate():
        feedback.form_errors(form, RecoveryPasswordForm.INPUTS)
        return redirect(url_for("auth.recover_password"), 303)
    device = session.device()
    try:
        recovery.reset_password(_ctx(), token, form.new_password.data, runtime().now(),
                                address=device.address, user_agent=device.user_agent)
    except AccountError as exc:
        if exc.reason == "recovery_link_invalid":
            stash.drop(LINK)
            return _lost()
        feedback.refuse(exc.reason, min=MIN_LENGTH, **exc.details)
        return redirect(url_for("auth.recover_password"), 303)
    stash.drop(LINK)
    session.forget_current()
    feedback.done("password_recovered")
    return redirect(url_for("auth.login"), 303)


@bp.get("/.well-known/change-password")
def change_password():
    """Where password managers send a citizen to change a password: the password page when signed
    in, the recovery page otherwise (its sign-in link is one step away)."""
    if session.current() is not None:
        return redirect(url_for("account.password"), 302)
    return redirect(url_for("auth.recover"), 302)
