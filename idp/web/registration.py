"""The citizen's lifecycle pages: registering online or with an e-signature, activating, and
extending the validity (PRODUCT.md rules 1–8).

Each view parses its form, calls one verb of ``idp.lifecycle`` and renders or
redirects (303 after every POST). A refusal is flashed, what was typed is kept
for the form shown again (``stash``; never a password), and the page ties each
message to its input. The initial password of an electronic registration is
shown once, on a page nobody caches.
"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from flask import session as form_session
from flask_babel import get_locale

from idp.accounts import assurance
from idp.accounts.documents import DOCUMENT_RULES
from idp.accounts.errors import AccountError
from idp.accounts.validity import check_extendable
from idp.lifecycle import citizen, registration
from idp.lifecycle.context import ACTIVATION_PATH, VALIDITY_PATH
from idp.runtime import runtime

from . import lifecycle_messages as msgs
from . import session, stash
from .citizen_forms import (
    ActionForm,
    ActivationForm,
    ElectronicRegistrationForm,
    RegistrationForm,
    SignedUploadForm,
)
from .lifecycle_pages import context, keep_registration_sheet, refused, shown_once, take_sheet

bp = Blueprint("registration", __name__)
bp.context_processor(msgs.helpers)

#: The electronic registration document the citizen downloads, signs and uploads back.
DOCUMENT_NAME = "ugyfelkapu-regisztracio.txt"
#: The registration number and the document to sign stay a day: signing tools take a while to find.
KEPT_SECONDS = 24 * 3600


def _moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _page_locale() -> str:
    """The mails' language preselected: the one the citizen reads this page in."""
    return str(get_locale())


# -- online pre-registration (rule 1, second channel) ---------------------------------


@bp.route("/register", methods=["GET", "POST"])
def register():
    rt = runtime()
    if request.method == "POST":
        form = RegistrationForm()
        try:
            account = registration.pre_register(context(), form.registration(), rt.now())
        except AccountError as exc:
            return refused(exc, form, "register", url_for("registration.register"))
        stash.keep("pre_registration", {
            "number": account.registration_number,
            "email": account.email,
            "wait_until": rt.policy.pending_deadline(account.registered_at),
        })
        return redirect(url_for("registration.registered"), 303)
    form = RegistrationForm(data=stash.take("register") or {"locale": _page_locale()})
    return render_template("citizen/register.html", form=form)


@bp.get("/register/number")
def registered():
    done = stash.peek("pre_registration", ttl=KEPT_SECONDS)
    if done is None:
        return redirect(url_for("registration.register"), 303)
    return render_template(
        "citizen/registered.html", number=done["number"], email=done["email"],
        wait_until=_moment(done["wait_until"]), documents=DOCUMENT_RULES,
    )


# -- electronic registration (rule 1, third channel) ----------------------------------


@bp.route("/register/electronic", methods=["GET", "POST"])
def electronic():
    rt = runtime()
    if request.method == "POST":
        form = ElectronicRegistrationForm()
        try:
            document = registration.electronic_registration_document(
                context(), form.registration(), form.document(), rt.now()
            )
        except AccountError as exc:
            return refused(exc, form, "electronic", url_for("registration.electronic"))
        stash.keep("electronic_document", {"text": document.decode("utf-8")})
        return redirect(url_for("registration.electronic_sign"), 303)
    form = ElectronicRegistrationForm(data=stash.take("electronic") or {"locale": _page_locale()})
    return render_template("citizen/electronic.html", form=form, types=msgs.document_types())


@bp.get("/register/electronic/document")
def electronic_document():
    kept = stash.peek("electronic_document", ttl=KEPT_SECONDS)
    if kept is None:
        abort(404)
    response = Response(kept["text"].encode("utf-8"), mimetype="text/plain")
    response.headers["Content-Disposition"] = f'attachment; filename="{DOCUMENT_NAME}"'
    return response


@bp.route("/register/electronic/sign", methods=["GET", "POST"])
def electronic_sign():
    rt = runtime()
    form = SignedUploadForm()
    if request.method == "POST":
        document = form.document.data.read() if form.document.data else b""
        signature = form.signature.data.read() if form.signature.data else b""
        try:
            sheet = registration.register_electronically(context(), document, signature, rt.now())
        except AccountError as exc:
            msgs.flash_refusal(exc, form.labels())
            return redirect(url_for("registration.electronic_sign"), 303)
        stash.drop("electronic_document")
        keep_registration_sheet(sheet)
        return redirect(url_for("registration.electronic_sheet"), 303)
    has_document = stash.peek("electronic_document", ttl=KEPT_SECONDS) is not None
    return render_template(
        "citizen/electronic_sign.html", form=form, has_document=has_document, document_name=DOCUMENT_NAME,
        lifetime_days=rt.policy.registration_document_lifetime.days,
    )


@bp.get("/register/electronic/sheet")
def electronic_sheet():
    sheet = take_sheet()
    if sheet is None:
        return render_template("citizen/sheet_gone.html"), 410
    return shown_once(render_template("citizen/sheet.html", sheet=sheet))


# -- activation (rule 6) -----------------------------------------------------------------


@bp.route(ACTIVATION_PATH, methods=["GET", "POST"])
def activate():
    rt = runtime()
    if request.method == "POST":
        form = ActivationForm()
        username = (form.username.data or "").strip()
        address = session.client_address()
        form_session["activation_username"] = username
        verdict = rt.throttle.check(username, address)
        if not verdict.allowed:
            msgs.flash_reason("sign_in_throttled", seconds=verdict.retry_after)
            return redirect(url_for("registration.activate"), 303)
        try:
            account = citizen.activate(context(), username, form.initial_password.data or "", form.code.data or "", rt.now())
        except AccountError as exc:
            rt.throttle.failed(username, address)
            msgs.flash_refusal(exc, form.labels())
            return redirect(url_for("registration.activate"), 303)
        rt.throttle.succeeded(username)
        form_session.pop("activation_username", None)
        # Activation is the first sign-in (rule 6); the gate keeps agencies out until the new password (rule 7).
        session.begin(account, amr=[assurance.PWD], acr=assurance.LOW)
        msgs.flash_done("activated")
        return redirect(url_for("auth.change_password"), 303)
    form = ActivationForm(data={"username": form_session.get("activation_username") or request.args.get("username", "")})
    return render_template("citizen/activate.html", form=form)


# -- validity (rule 8) ---------------------------------------------------------------------


@bp.route(VALIDITY_PATH, methods=["GET", "POST"])
def validity():
    rt = runtime()
    account = session.current_account()
    if account is None:
        return redirect(url_for("auth.login", next=url_for("registration.validity")), 303)
    if request.method == "POST":
        try:
            until = citizen.extend_validity(context(), account, rt.now())
        except AccountError as exc:
            msgs.flash_refusal(exc)
            return redirect(url_for("registration.validity"), 303)
        msgs.flash_done("validity_extended", date=msgs.format_day(until))
        return redirect(url_for("registration.validity"), 303)
    try:
        check_extendable(account, rt.now(), rt.policy)
        refusal = None
    except AccountError as exc:
        refusal = exc.reason
    return render_template(
        "citizen/validity.html",
        account=account,
        refusal=refusal,
        message=msgs.message(refusal) if refusal else None,
        password_expires_at=rt.policy.password_expires_at(account.password_changed_at),
        form=ActionForm(),
    )
