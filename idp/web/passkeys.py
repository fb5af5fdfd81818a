"""The passkey steps of the sign-in pages (``idp.web.signin``), shared by the direct sign-in and an
agency's interaction: a passkey as the second step after the password or as a step-up (the
Ügyfélkapu+ page), and, where the operator allows it, a passwordless sign-in from the sign-in page.

The page carries the ceremony's options (``idp.web.passkey_ceremony``: the challenge kept
server-side, once); ``static/passkeys.js`` asks the browser and posts its answer here. Each view
takes the challenge, calls one verb of ``idp.lifecycle.passkeys`` (which holds the throttle) and
redirects (303). Without JavaScript the passkey buttons stay hidden and the codes remain.
"""

from __future__ import annotations

from flask import redirect

from idp.accounts.errors import AccountError
from idp.extensions import db
from idp.lifecycle import passkeys as service
from idp.lifecycle.context import context_for
from idp.runtime import runtime

from . import feedback, passkey_ceremony, session, signin, stash, throttled
from .passkey_forms import PasskeyAnswerForm


def _ctx():
    return context_for(runtime(), db.session)


def _answer() -> str | None:
    form = PasskeyAnswerForm()
    return form.credential.data if form.validate() and form.credential.data else None


def submit_use(places: signin.Places):
    """A passkey after the password (the pending account), or a step-up of the live session."""
    rt = runtime()
    account, sso = signin.who()
    if account is None:
        return redirect(places.login, 303)
    ceremony = passkey_ceremony.take(passkey_ceremony.USE, account.id)
    answer = _answer()
    if ceremony is None or answer is None:
        feedback.refuse("passkey_failed")
        return redirect(places.second_factor, 303)
    pending = stash.peek_once(signin.PENDING, ttl=signin.PENDING_SECONDS) if sso is None else None
    try:
        if sso is not None:
            session.reauthenticated(service.step_up(_ctx(), passkey_ceremony.relying_party(), sso, account,
                                                    ceremony["challenge"], answer, session.device(), rt.now()))
            return redirect(places.done, 303)
        if stash.take_once(signin.PENDING, ttl=signin.PENDING_SECONDS) is None:  # another request used it first
            return redirect(places.login, 303)
        signed = service.second_step(_ctx(), passkey_ceremony.relying_party(), account, ceremony["challenge"], answer,
                                     session.device(), rt.now(), replacing=session.current())
    except AccountError as exc:
        if pending is not None:  # the password step still stands, under a new id, until its deadline
            stash.keep_once(signin.PENDING, pending, ttl=signin.PENDING_SECONDS)
        if (too_many := throttled.answer(exc, places.second_factor)) is not None:
            return too_many
        feedback.refuse(exc)
        return redirect(places.second_factor, 303)
    session.signed_in(signed)
    return redirect(places.done, 303)


def submit_passwordless(places: signin.Places):
    """A passwordless sign-in with a discoverable passkey (``[passkeys] passwordless``)."""
    rt = runtime()
    if not rt.settings.passkeys.passwordless:
        return redirect(places.login, 303)
    ceremony = passkey_ceremony.take(passkey_ceremony.PASSWORDLESS)
    answer = _answer()
    if ceremony is None or answer is None:
        feedback.refuse("passkey_failed")
        return redirect(places.login, 303)
    try:
        signed = service.sign_in(_ctx(), passkey_ceremony.relying_party(), ceremony["challenge"], answer,
                                 session.device(), rt.now(), replacing=session.current())
    except AccountError as exc:
        feedback.refuse(exc)
        return redirect(places.login, 303)
    session.signed_in(signed)
    return redirect(places.done, 303)
