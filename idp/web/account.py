"""The citizen's own pages, everything under ``/account`` behind one guard: the overview (personal
data, sign-in sessions with sign-out, the agencies allowed with withdrawal, the access history), the
password, the validity, and Ügyfélkapu+ (``idp.web.second_factor`` adds its routes here).

Every page needs a live sign-in session; every action is a CSRF-checked POST answered with a 303.
A page reached from an agency's interaction (its fix page) carries ``next``, a path on this
provider (the interaction's resume step), and goes back there when done.
"""

from __future__ import annotations

import json
from datetime import date, datetime

from flask import Blueprint, Response, g, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from idp.accounts.errors import AccountError
from idp.accounts.password_policy import MIN_LENGTH
from idp.accounts.validity import check_extendable
from idp.clients import scopes as sc
from idp.extensions import db
from idp.lifecycle import citizen
from idp.lifecycle.context import context_for
from idp.lifecycle.export import personal_data
from idp.oidc.claims import TEST_ACCOUNT_CLAIM
from idp.lifecycle.overview import overview
from idp.runtime import runtime

from . import feedback, messages, session, throttled
from .auth import safe_next
from .citizen_forms import ActionForm
from .formatting import document_types, format_day, format_moment
from .forms import ConfirmForm, EndSessionForm, PasswordChangeForm, WithdrawConsentForm, WithdrawOfflineForm
from .i18n import agency_subject, scope_label
from .interaction import allow_return

bp = Blueprint("account", __name__, url_prefix="/account")

ALL = "all"
CHANNELS = {
    "id_token": _l("at sign-in"),
    "userinfo": _l("asked for afterwards"),
}

#: Ügyfélkapu+ methods by name, never their secrets.
METHODS = {"otp": _l("Authenticator app"), "email": _l("Code by email")}

#: The citizen's words for the audit events about their account.
EVENTS = {
    "registration_started": _l("Registration started"),
    "identity_verified": _l("Identity verified"),
    "statement_recorded": _l("Data-provision statement recorded"),
    "activation_code_issued": _l("Activation code sent"),
    "activated": _l("Account activated"),
    "registration_completed": _l("Registration completed"),
    "password_changed": _l("Password changed"),
    "validity_extended": _l("Validity extended"),
    "reminder_sent": _l("Reminder sent"),
    "consent_withdrawn": _l("Permission withdrawn from an agency"),
    "offline_access_withdrawn": _l("Access while away withdrawn from an agency"),
    "second_factor_enrolled": _l("Ügyfélkapu+ turned on"),
    "second_factor_replaced": _l("Authenticator replaced"),
    "second_factor_method_changed": _l("Ügyfélkapu+ method changed"),
    "second_factor_removed": _l("Ügyfélkapu+ turned off"),
    "authenticator_replacement_started": _l("Authenticator replacement started"),
    "passkey_added": _l("Passkey added"),
    "passkey_removed": _l("Passkey removed"),
    "recovery_requested": _l("Password recovery requested"),
    "recovery_factor_passed": _l("Ügyfélkapu+ confirmed for password recovery"),
    "password_recovered": _l("New password set by password recovery"),
    "recovery_codes_issued": _l("New recovery codes issued"),
    "recovery_code_used": _l("Recovery code used"),
    "data_changed": _l("Data changed at the office"),
    "account_reactivated": _l("Account reactivated at the office"),
    "account_deleted": _l("Account deleted"),
    "account_expired": _l("Account ended"),
    "registration_lapsed": _l("Registration lapsed"),
}


#: Claims that belong to no scope, in the citizen's words (never a claim URL on a page).
OTHER_CLAIMS = {
    TEST_ACCOUNT_CLAIM: _l("That this is a test account"),
}


def _scope_of_claim(claim: str) -> str | None:
    return next((scope for scope, claims in sc.SCOPE_CLAIMS.items() if claim in claims), None)


def claim_group_label(claim: str) -> str:
    """The data group a released claim belongs to, as the consent page names it; a claim of no
    group by its own label, and an unknown one as "other data" rather than its raw name."""
    scope = _scope_of_claim(claim)
    if scope is not None:
        return str(scope_label(scope))
    return str(OTHER_CLAIMS.get(claim, _l("Other data")))


@bp.context_processor
def _labels():
    def released(claims) -> list[str]:
        """The citizen's words for released claims: the data groups they consented to."""
        return list(dict.fromkeys(claim_group_label(c) for c in claims))

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


@bp.get("/sessions/end-all")
def confirm_end_all():
    """"Sign out everywhere" asks first: it ends every device's sign-in, this one included."""
    return render_template("citizen/end_all.html", account=g.citizen, end_form=EndSessionForm(), ALL=ALL,
                           count=len(overview(db.session, g.citizen, session.current().sid, runtime().now(),
                                              runtime().timeouts).sessions))


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
    feedback.done("consent_withdrawn", agency=agency_subject(agency))
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


def _my_data() -> dict:
    rt = runtime()
    return personal_data(db.session, g.citizen, rt.now(), rt.policy, rt.timeouts, session.current().sid)


@bp.get("/data")
def data():
    """GDPR Art. 15: the citizen's own data, readable. A GET that changes nothing; the download is a POST."""
    return render_template(
        "citizen/data.html", account=g.citizen, data=_my_data(), form=ActionForm(),
        event_label=lambda e: EVENTS.get(e, e), channel_label=lambda c: CHANNELS.get(c, c),
        method_label=lambda m: METHODS.get(m, m),
        moment=lambda iso: format_moment(datetime.fromisoformat(iso)) if iso else "",
        day=lambda iso: format_day(date.fromisoformat(iso)) if iso else "",
        document_label=lambda t: dict(document_types()).get(t, t),
    )


@bp.post("/data")
def download():
    """GDPR Art. 20: the same data as a JSON file, CSRF-checked (a POST), never cached."""
    if not ActionForm().validate():
        feedback.refuse("form_invalid")
        return redirect(url_for("account.data"), 303)
    document = _my_data()
    filename = f"ugyfelkapu-{g.citizen.identifier}-{runtime().now():%Y-%m-%d}.json"
    response = Response(json.dumps(document, ensure_ascii=False, indent=2), mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.route("/password", methods=["GET", "POST"])
def password():
    """The citizen's own password change (rule 7: required at activation, allowed any time after)."""
    form = PasswordChangeForm()
    proven = session.just_activated(g.citizen)
    if proven:
        del form.current_password  # typed a moment ago, at activation
    if request.method == "POST":
        if not form.validate():
            feedback.form_errors(form, PasswordChangeForm.INPUTS)
            return redirect(here("account.password"), 303)
        sso = session.current()
        try:
            citizen.change_password(
                ctx(), g.citizen, None if proven else form.current_password.data, form.new_password.data,
                runtime().now(), end_others_but=sso.sid if form.end_other_sessions.data else None,
                address=session.client_address(),
            )
        except AccountError as exc:
            if (too_many := throttled.answer(exc, here("account.password"))) is not None:
                return too_many
            feedback.refuse(exc.reason, min=MIN_LENGTH, **exc.details)
            return redirect(here("account.password"), 303)
        session.forget_activation()
        session.rotate_current()
        feedback.done("password_changed")
        return redirect(g.next or url_for("auth.home"), 303)
    form.next.data = g.next or ""
    return render_template("password.html", form=form, account=g.citizen, min_length=MIN_LENGTH, proven=proven)


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
