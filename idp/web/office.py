"""The office console: registration officers verify identities, complete and make registrations,
and change or delete accounts at the registering office (PRODUCT.md rules 2, 4, 5, 9, 10).

The whole blueprint is guarded in ``before_request`` (STYLE.md habit 7): every
page but the sign-in needs an officer signed in with password and TOTP, held
under its own key of the form session (``office``), apart from any citizen's
sign-in, and ended by the same idle and absolute timeouts. The services check
the registering-office rule again; the console only keeps the refused officer
from seeing the citizen's data.

Views parse, call one verb, render or redirect (303 after every POST). The
registration sheet shows the initial password once and prints without script.
"""

from __future__ import annotations

from flask import Blueprint, Response, g, redirect, render_template, request, url_for
from flask import session as form_session

from idp.accounts.changes import may_act_for
from idp.accounts.errors import AccountError
from idp.accounts.personal import snapshot
from idp.accounts.validity import is_reactivation_due
from idp.extensions import db
from idp.lifecycle import office, registration
from idp.lifecycle.context import find_account
from idp.offices.models import Office, Officer
from idp.runtime import runtime

from . import feedback, messages
from .formatting import document_types
from . import session, stash
from .citizen_forms import ActionForm
from .lifecycle_pages import (
    OFFICE_SHEET, context, keep_registration_sheet, keep_sheet, refused, shown_once, take_sheet,
)
from .office_forms import (
    ChangeDataForm,
    FindAccountForm,
    FindRegistrationForm,
    InPersonForm,
    OfficerSignInForm,
    ReactivateForm,
    VerifyForm,
)

bp = Blueprint("office", __name__, url_prefix="/office")

SESSION_KEY = "office"
#: The only page open without an officer.
OPEN_ENDPOINTS = frozenset({"office.sign_in"})


# -- the guard ---------------------------------------------------------------------------


def _signed_in_officer() -> Officer | None:
    """The officer of this browser's console session, within its timeouts and still active."""
    held = form_session.get(SESSION_KEY)
    if not isinstance(held, dict):
        return None
    rt = runtime()
    now = rt.now().timestamp()
    started, seen = held.get("started", 0), held.get("seen", 0)
    if now - seen > rt.timeouts.idle.total_seconds() or now - started > rt.timeouts.absolute.total_seconds():
        return None
    officer = db.session.get(Officer, held.get("id"))
    if officer is None or not officer.active:
        return None
    form_session[SESSION_KEY] = {**held, "seen": now}
    return officer


@bp.before_request
def _guard():
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    officer = _signed_in_officer()
    if officer is None:
        if SESSION_KEY in form_session:
            _end_console()
            feedback.refuse("office_session_ended")
        return redirect(url_for("office.sign_in"), 303)
    g.officer = officer
    g.office = db.session.get(Office, officer.office_id)
    return None


@bp.context_processor
def _console():
    return {"officer": g.get("officer"), "office": g.get("office"), "sign_out_form": ActionForm()}


# -- sign-in and out ----------------------------------------------------------------------


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    rt = runtime()
    if request.method == "POST":
        form = OfficerSignInForm()
        username = (form.username.data or "").strip()
        try:
            officer = office.sign_in_officer(context(), username, form.password.data or "", form.code.data or "",
                                             rt.now(), address=session.client_address())
        except AccountError as exc:
            feedback.refuse(exc)
            return _refused_sign_in(username)
        _end_console()  # nothing from before the sign-in carries over
        now = rt.now().timestamp()
        form_session[SESSION_KEY] = {"id": officer.id, "started": now, "seen": now}
        feedback.done("officer_signed_in", name=officer.display_name)
        return redirect(url_for("office.home"), 303)
    if _signed_in_officer() is not None:
        return redirect(url_for("office.home"), 303)
    form = OfficerSignInForm(data={"username": form_session.get("officer_username", "")})
    return render_template("office/sign_in.html", form=form)


def _refused_sign_in(username: str) -> Response:
    form_session["officer_username"] = username
    return redirect(url_for("office.sign_in"), 303)


def _end_console() -> None:
    """The console session is over (signed out, or its timeout ran out at a shared terminal): a sheet
    not yet shown is destroyed server-side, and nothing typed at the console stays in the browser."""
    stash.discard_once(OFFICE_SHEET)
    form_session.clear()


@bp.post("/sign-out")
def sign_out():
    _end_console()
    feedback.done("officer_signed_out")
    return redirect(url_for("office.sign_in"), 303)


# -- home: find a pre-registration or an account ------------------------------------------


@bp.get("/")
def home():
    return render_template(
        "office/home.html",
        find_registration=FindRegistrationForm(data=stash.take("find_registration") or {}),
        find_account=FindAccountForm(data=stash.take("find_account") or {}),
    )


@bp.post("/registrations")
def find_registration():
    form = FindRegistrationForm()
    try:
        account = registration.find_pre_registration(context(), form.number.data or "")
    except AccountError as exc:
        return refused(exc, form, "find_registration", url_for("office.home"))
    return redirect(url_for("office.verify", number=account.registration_number), 303)


@bp.post("/accounts")
def find_account_by_identifier():
    form = FindAccountForm()
    try:
        account = find_account(context(), form.identifier.data or "")
    except AccountError as exc:
        return refused(exc, form, "find_account", url_for("office.home"))
    return redirect(url_for("office.account", identifier=account.identifier), 303)


# -- registration: verify a pre-registration, or register from scratch ----------------------


@bp.route("/registrations/<number>", methods=["GET", "POST"])
def verify(number: str):
    rt = runtime()
    back = url_for("office.verify", number=number)
    if request.method == "POST":
        form = VerifyForm()
        try:
            sheet = registration.complete_registration(
                context(), g.officer, number, form.document(), rt.now(), statement_signed=form.statement_signed.data
            )
        except AccountError as exc:
            if exc.reason in ("registration_not_found", "not_pending_verification"):
                return refused(exc, FindRegistrationForm(data={"number": number}), "find_registration",
                                url_for("office.home"))
            return refused(exc, form, "verify", back)
        keep_registration_sheet(OFFICE_SHEET, sheet)
        return redirect(url_for("office.sheet"), 303)
    try:
        account = registration.find_pre_registration(context(), number)
    except AccountError as exc:
        feedback.refuse(exc)
        return redirect(url_for("office.home"), 303)
    return render_template(
        "office/verify.html",
        account=account,
        form=VerifyForm(data=stash.take("verify") or {}),
        types=document_types(),
        statement_version=rt.settings.policy.statement_version,
    )


@bp.route("/register", methods=["GET", "POST"])
def register():
    rt = runtime()
    if request.method == "POST":
        form = InPersonForm()
        try:
            sheet = registration.register_in_person(
                context(), g.officer, form.registration(), form.document(), rt.now(),
                statement_signed=form.statement_signed.data,
            )
        except AccountError as exc:
            return refused(exc, form, "in_person", url_for("office.register"))
        keep_registration_sheet(OFFICE_SHEET, sheet)
        return redirect(url_for("office.sheet"), 303)
    return render_template(
        "office/register.html",
        form=InPersonForm(data=stash.take("in_person") or {}),
        types=document_types(),
        statement_version=rt.settings.policy.statement_version,
    )


@bp.get("/sheet")
def sheet():
    """The printable registration sheet (rule 5): the initial password, this once."""
    values = take_sheet(OFFICE_SHEET)
    if values is None:
        return render_template("office/sheet_gone.html"), 410
    activation_url = runtime().issuer.rstrip("/") + url_for("registration.activate")
    return shown_once(render_template("office/sheet.html", sheet=values, activation_url=activation_url))


# -- an existing account: change data, delete, a new activation code, reactivation ---------


def _account_page(identifier: str):
    """The account as this officer may see it: its data and the change form only at the registering
    office (rule 9); elsewhere the reason, and what any office may do (a new code, reactivation)."""
    rt = runtime()
    try:
        account = find_account(context(), identifier)
    except AccountError as exc:
        feedback.refuse(exc)
        return redirect(url_for("office.home"), 303)
    may_change = account.is_live and may_act_for(account, g.officer.office_id)
    form = None
    if may_change:
        draft = stash.take("change")
        form = ChangeDataForm(data=draft if draft is not None else _as_typed(snapshot(account)))
    refused_here = account.is_live and not may_change
    registering = db.session.get(Office, account.registering_office_id) if account.registering_office_id else None
    return render_template(
        "office/account.html",
        account=account,
        form=form,
        refusal=messages.message("not_registering_office") if refused_here else None,
        registering_office=registering,
        reactivation_due=is_reactivation_due(account, rt.now(), rt.policy),
        reactivate_form=ReactivateForm(data=stash.take("reactivate") or {}),
        action_form=ActionForm(),
        types=document_types(),
    ), 403 if refused_here else 200


def _as_typed(values: dict) -> dict:
    return {k: v.isoformat() if hasattr(v, "isoformat") else (v or "") for k, v in values.items()}


@bp.route("/accounts/<identifier>", methods=["GET", "POST"])
def account(identifier: str):
    if request.method == "GET":
        return _account_page(identifier)
    form = ChangeDataForm()
    back = url_for("office.account", identifier=identifier)
    try:
        changed = office.change_data(
            context(), g.officer, identifier, form.personal_values(), runtime().now(), document=form.document_or_none()
        )
    except AccountError as exc:
        return refused(exc, form, "change", back)
    feedback.done("data_changed" if changed.mail_sent else "data_changed_mail_failed")
    return redirect(back, 303)


@bp.route("/accounts/<identifier>/delete", methods=["GET", "POST"])
def delete(identifier: str):
    if request.method == "POST":
        try:
            deleted = office.delete_account(context(), g.officer, identifier, runtime().now())
        except AccountError as exc:
            feedback.refuse(exc)
            return redirect(url_for("office.account", identifier=identifier), 303)
        feedback.done("account_deleted", identifier=deleted.identifier)
        return redirect(url_for("office.home"), 303)
    try:
        account = find_account(context(), identifier)
    except AccountError as exc:
        feedback.refuse(exc)
        return redirect(url_for("office.home"), 303)
    if not may_act_for(account, g.officer.office_id) or not account.is_live:
        return redirect(url_for("office.account", identifier=account.identifier), 303)
    return render_template("office/delete.html", account=account, form=ActionForm())


@bp.post("/accounts/<identifier>/activation-code")
def new_activation_code(identifier: str):
    try:
        issued = registration.issue_activation_code(context(), g.officer, identifier, runtime().now())
    except AccountError as exc:
        feedback.refuse(exc)
    else:
        feedback.done("code_issued" if issued.mail_sent else "code_mail_failed")
    return redirect(url_for("office.account", identifier=identifier), 303)


@bp.post("/accounts/<identifier>/reactivate")
def reactivate(identifier: str):
    form = ReactivateForm()
    try:
        done = office.reactivate(context(), g.officer, identifier, form.document(), runtime().now())
    except AccountError as exc:
        return refused(exc, form, "reactivate", url_for("office.account", identifier=identifier))
    keep_sheet(OFFICE_SHEET, identifier=done.identifier, username=done.username, name=done.account.display_name,
               initial_password=done.initial_password, activation_deadline=None, mail_sent=False)
    return redirect(url_for("office.sheet"), 303)
