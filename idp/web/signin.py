"""The sign-in pages' views, shared by the direct sign-in (``/login``, for the provider's own pages)
and an agency's interaction (``/interaction/<uid>/login``): the password step, the Ügyfélkapu+ code
(the second step after the password, or a step-up of a live session) and a new emailed code.

Each view parses its form, calls one verb of ``idp.lifecycle.signin`` (which holds the throttle)
and renders or redirects (303 after every POST). Between the password and the code no sign-in
session exists: which account passed the password is kept server-side for a few minutes and taken
once by the code step (``stash.keep_once``), so a copy of the cookie replayed afterwards finds nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from dataclasses import dataclass

from flask import redirect, render_template
from flask import session as form_session

from idp.accounts.errors import AccountError
from idp.accounts.models import Account
from idp.extensions import db
from idp.lifecycle import second_factor, signin
from idp.lifecycle.context import context_for
from idp.lifecycle.signin import SecondFactorOwed
from idp.mail.message import masked
from idp.runtime import runtime

from . import feedback, passkey_ceremony, session, stash, throttled
from .forms import LoginForm, NextForm, SecondFactorCodeForm
from .passkey_forms import PasskeyAnswerForm

#: Which account passed the password and owes its code.
PENDING = "second_factor_pending"
#: How long the password step stays good for the code step.
PENDING_SECONDS = 5 * 60
#: The username typed last, to fill the form again after a refusal (never the password).
TYPED_USERNAME = "login_username"


@dataclass(frozen=True)
class Places:
    """Where the sign-in pages post, and where they lead once the citizen is signed in."""

    login: str
    second_factor: str
    send_code: str
    done: str
    #: Where a passkey's answer goes: after the password or in a step-up, and a passwordless sign-in.
    passkey: str = ""
    passwordless: str = ""


def _ctx():
    return context_for(runtime(), db.session)


def login_page(places: Places, *, hint: str | None = None, **page) -> str:
    """The password form (``page``: what the template shows beside it: the agency, a cancel form)."""
    form = LoginForm()
    form.username.data = form_session.get(TYPED_USERNAME) or hint or ""
    options = passkey_ceremony.offer_passwordless() if places.passwordless else None
    return render_template("login.html", form=form, action=places.login, passkey_options=options,
                           passkey_action=places.passwordless, passkey_form=PasskeyAnswerForm(), **page)


def submit_login(places: Places):
    rt = runtime()
    form = LoginForm()
    if not form.validate():
        feedback.refuse("form_invalid")
        return redirect(places.login, 303)
    username = form.username.data.strip()
    form_session[TYPED_USERNAME] = username
    try:
        outcome = signin.sign_in(_ctx(), username, form.password.data, session.device(), rt.now(),
                                 replacing=session.current())
    except AccountError as exc:
        if (too_many := throttled.answer(exc, places.login)) is not None:
            return too_many
        feedback.refuse(exc)
        return redirect(places.login, 303)
    form_session.pop(TYPED_USERNAME, None)
    if isinstance(outcome, SecondFactorOwed):
        until = rt.now().timestamp() + PENDING_SECONDS
        stash.keep_once(PENDING, {"account": outcome.account.id, "until": until}, ttl=PENDING_SECONDS)
        if outcome.refusal is not None:
            feedback.refuse(outcome.refusal)
        return redirect(places.second_factor, 303)
    session.signed_in(outcome)
    return redirect(places.done, 303)


def _who() -> tuple[Account | None, object | None]:
    """The account that passed the password and owes its code (no session yet), or else the
    signed-in citizen stepping up (with the session)."""
    pending = stash.peek_once(PENDING, ttl=PENDING_SECONDS)
    live = pending is not None and float(pending.get("until") or 0) > runtime().now().timestamp()
    account = db.session.get(Account, pending.get("account")) if live else None
    if account is not None and account.has_second_factor:
        return account, None
    sso = session.current()
    account = db.session.get(Account, sso.account_id) if sso is not None else None
    if account is not None and account.has_second_factor:
        return account, sso
    return None, None


def who() -> tuple[Account | None, object | None]:
    """Who owes the Ügyfélkapu+ step: the account after its password, or the citizen stepping up."""
    return _who()


def owes_code() -> bool:
    return _who()[0] is not None


def second_factor_page(places: Places, **page):
    account, sso = _who()
    if account is None:
        return redirect(places.login, 303)
    waiting = second_factor.code_waiting(_ctx(), account, runtime().now())
    return render_template(
        "second_factor_sign_in.html", form=SecondFactorCodeForm(), action=places.second_factor,
        send_action=places.send_code, stepping_up=sso is not None, method=account.second_factor_method,
        address=masked(account.email) if account.email else "", waiting=waiting, send_form=NextForm(),
        passkey_options=passkey_ceremony.offer_use(account) if places.passkey else None,
        passkey_action=places.passkey, passkey_form=PasskeyAnswerForm(), **page,
    )


def submit_second_factor(places: Places):
    rt = runtime()
    account, sso = _who()
    if account is None:
        return redirect(places.login, 303)
    pending = stash.peek_once(PENDING, ttl=PENDING_SECONDS) if sso is None else None
    form = SecondFactorCodeForm()
    if not form.validate():
        feedback.refuse("form_invalid")
        return redirect(places.second_factor, 303)
    try:
        if sso is not None:
            session.reauthenticated(signin.step_up(_ctx(), sso, account, form.code.data, session.device(), rt.now()))
            return redirect(places.done, 303)
        if stash.take_once(PENDING, ttl=PENDING_SECONDS) is None:  # another request used it first
            return redirect(places.login, 303)
        signed = signin.second_step(_ctx(), account, form.code.data, session.device(), rt.now(),
                                    replacing=session.current())
    except AccountError as exc:
        if pending is not None:  # the password step still stands, under a new id, until its deadline
            stash.keep_once(PENDING, pending, ttl=PENDING_SECONDS)
        if (too_many := throttled.answer(exc, places.second_factor)) is not None:
            return too_many
        feedback.refuse(exc)
        return redirect(places.second_factor, 303)
    session.signed_in(signed)
    return redirect(places.done, 303)


def submit_send_code(places: Places):
    """A new emailed code, when the citizen asks (rate-limited by ``idp.accounts.email_code``)."""
    account, _sso = _who()
    if account is None:
        return redirect(places.login, 303)
    send_code_answered(lambda: second_factor.send_code(_ctx(), account, runtime().now(), again=True))
    return redirect(places.second_factor, 303)


def send_code_answered(send: Callable[[], bool]) -> None:
    """A new emailed code the citizen asked for (the sign-in's or account recovery's): the form
    checked, ``send`` called, the citizen told whether it left."""
    if not NextForm().validate():
        feedback.refuse("form_invalid")
        return
    try:
        sent = send()
    except AccountError as exc:
        feedback.refuse(exc)
        return
    feedback.done("email_code_sent") if sent else feedback.refuse("email_code_not_sent")
