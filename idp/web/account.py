"""The citizen's own view (issue 4, "the account page"): personal data, validity, password,
second factor, sign-in sessions with sign-out, the agencies allowed with withdrawal, and the
access history. Every page needs a live sign-in session; every action is a CSRF-checked POST.
"""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from idp.accounts.errors import AccountError
from idp.extensions import db
from idp.lifecycle import citizen
from idp.lifecycle.context import context_for
from idp.lifecycle.overview import overview
from idp.runtime import runtime

from idp.clients import scopes as sc

from . import feedback, session
from .forms import ConfirmForm, EndSessionForm, WithdrawConsentForm
from .i18n import scope_label

bp = Blueprint("account", __name__, url_prefix="/account")

ALL = "all"
CHANNELS = {
    "id_token": _l("at sign-in"),
    "userinfo": _l("asked for afterwards"),
}


def _scope_of_claim(claim: str) -> str:
    return next((scope for scope, claims in sc.SCOPE_CLAIMS.items() if claim in claims), claim)


@bp.context_processor
def _labels():
    def released(claims) -> list[str]:
        """The citizen's words for released claims: the data groups they consented to."""
        return [str(scope_label(s)) for s in dict.fromkeys(_scope_of_claim(c) for c in claims)]

    return {"released": released, "channel_label": lambda c: CHANNELS.get(c, c)}


@bp.before_request
def _signed_in():
    # The whole surface needs a session (STYLE.md habit 7), not a decorator per route.
    if session.current() is None:
        here = request.path if request.method == "GET" else url_for("account.show")
        return redirect(url_for("auth.login", next=here), 303)
    return None


@bp.get("")
def show():
    rt = runtime()
    sso = session.current()
    account = session.current_account()
    view = overview(db.session, account, sso.sid, rt.now(), rt.timeouts)
    return render_template(
        "citizen/account.html", account=account, view=view,
        end_form=EndSessionForm(), withdraw_form=WithdrawConsentForm(), form=ConfirmForm(), ALL=ALL,
    )


@bp.post("/sessions/end")
def end_session():
    form = EndSessionForm()
    sso = session.current()
    if not form.validate():
        feedback.refuse("form_invalid")
        return redirect(url_for("account.show"), 303)
    if form.sid.data == ALL:
        session.end_sessions(sso.account_id, "signed_out_everywhere", keep=sso.sid)
        session.end_current("signed_out_everywhere")
        return redirect(url_for("auth.signed_out"), 303)
    if form.sid.data == sso.sid:
        session.end_current("signed_out")
        return redirect(url_for("auth.signed_out"), 303)
    ended = session.end_sessions(sso.account_id, "signed_out_remotely", only=[form.sid.data])
    if not ended.sids:
        feedback.refuse("session_not_found")
    else:
        feedback.done("session_ended")
    return redirect(url_for("account.show"), 303)


@bp.post("/agencies/withdraw")
def withdraw():
    rt = runtime()
    form = WithdrawConsentForm()
    if not form.validate():
        feedback.refuse("form_invalid")
        return redirect(url_for("account.show"), 303)
    try:
        agency = citizen.withdraw_consent(context_for(rt, db.session), session.current_account(), form.client_id.data, rt.now())
    except AccountError as exc:
        feedback.refuse(exc)
        return redirect(url_for("account.show"), 303)
    feedback.done("consent_withdrawn", agency=agency)
    return redirect(url_for("account.show"), 303)
