"""The citizen's own pages, everything under ``/account`` behind one guard: the overview (personal
data, sign-in sessions with sign-out, the agencies allowed with withdrawal, the access history), the
password, the validity, and Ügyfélkapu+ (``idp.web.second_factor`` adds its routes here).

Every page needs a live sign-in session; every action is a CSRF-checked POST answered with a 303.
A page reached from an agency's interaction (its fix page) carries ``next``, a path on this
provider (the interaction's resume step), and goes back there when done.
"""

from __future__ import annotations

from flask import Blueprint, g, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from idp.accounts.errors import AccountError
from idp.accounts.password_policy import MIN_LENGTH
from idp.accounts.validity import check_extendable
from idp.clients import scopes as sc
from idp.extensions import db
from idp.lifecycle import citizen
from idp.lifecycle.context import context_for
from idp.lifecycle.overview import overview
from idp.runtime import runtime

from . import feedback, messages, session
from .auth import safe_next
from .citizen_forms import ActionForm
from .formatting import format_day
from .forms import ConfirmForm, EndSessionForm, PasswordChangeForm, WithdrawConsentForm, WithdrawOfflineForm
from .i18n import agency_subject, scope_label
from .interaction import allow_return

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
    """The whole surface needs a session (STYLE.md habit 7), not a decorator per route."""
    account = session.current_account()
    if account is None:
        back = request.full_path.rstrip("?") if request.method == "GET" else url_for("account.show")
        return redirect(url_for("auth.login", next=safe_next(back)), 303)
    g.citizen = account
    g.next = safe_next(request.values.get("next"))
    allow_return(g.next)
    return None


def here(endpoint: str) -> str:
    """This page again, keeping where it leads back to."""
    return url_for(endpoint, next=g.next) if g.next else url_for(endpoint)


def ctx():
    return context_for(runtime(), db.session)


@bp.get("")
def show():
    rt = runtime()
    view = overview(db.session, g.citizen, session.current().sid, rt.now(), rt.timeouts)
    return render_template(
        "citizen/account.html", account=g.citizen, view=view,
        end_form=EndSessionForm(), withdraw_form=WithdrawConsentForm(), offline_form=WithdrawOfflineForm(),
        form=ConfirmForm(), ALL=ALL,
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
    form = WithdrawConsentForm()
    if not form.validate():
        feedback.refuse("form_invalid")
        return redirect(url_for("account.show"), 303)
    try:
        agency = citizen.withdraw_consent(ctx(), g.citizen, form.client_id.data, runtime().now())
    except AccountError as exc:
        feedback.refuse(exc)
        return redirect(url_for("account.show"), 303)
    feedback.done("consent_withdrawn", agency=agency)
    return redirect(url_for("account.show"), 303)


@bp.post("/agencies/offline/withdraw")
def withdraw_offline():
    """End one agency's access while the citizen is away; what it may receive at sign-in stays."""
    form = WithdrawOfflineForm()
    if not form.validate():
        feedback.refuse("form_invalid")
        return redirect(url_for("account.show"), 303)
    try:
        agency = citizen.withdraw_offline_access(ctx(), g.citizen, form.client_id.data, runtime().now())
    except AccountError as exc:
        feedback.refuse(exc)
        return redirect(url_for("account.show"), 303)
    feedback.done("offline_access_withdrawn", agency=agency_subject(agency))
    return redirect(url_for("account.show"), 303)


@bp.route("/password", methods=["GET", "POST"])
def password():
    """The citizen's own password change (rule 7: required at activation, allowed any time after)."""
    form = PasswordChangeForm()
    if request.method == "POST":
        if not form.validate():
            feedback.form_errors(form, PasswordChangeForm.INPUTS)
            return redirect(here("account.password"), 303)
        sso = session.current()
        try:
            citizen.change_password(
                ctx(), g.citizen, form.current_password.data, form.new_password.data, runtime().now(),
                end_others_but=sso.sid if form.end_other_sessions.data else None, address=session.client_address(),
            )
        except AccountError as exc:
            feedback.refuse(exc.reason, min=MIN_LENGTH, **exc.details)
            return redirect(here("account.password"), 303)
        session.rotate_current()
        feedback.done("password_changed")
        return redirect(g.next or url_for("auth.home"), 303)
    form.next.data = g.next or ""
    return render_template("password.html", form=form, account=g.citizen, min_length=MIN_LENGTH)


@bp.route("/validity", methods=["GET", "POST"])
def validity():
    """Rule 8: the validity and its extension."""
    rt = runtime()
    if request.method == "POST":
        try:
            until = citizen.extend_validity(ctx(), g.citizen, rt.now())
        except AccountError as exc:
            feedback.refuse(exc)
            return redirect(here("account.validity"), 303)
        feedback.done("validity_extended", date=format_day(until))
        return redirect(g.next or here("account.validity"), 303)
    try:
        check_extendable(g.citizen, rt.now(), rt.policy)
        refusal = None
    except AccountError as exc:
        refusal = exc.reason
    return render_template(
        "citizen/validity.html", account=g.citizen, refusal=refusal,
        message=messages.message(refusal) if refusal else None,
        password_expires_at=rt.policy.password_expires_at(g.citizen.password_changed_at),
        form=ActionForm(),
    )
