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
from idp.lifecycle import citizen, registration, signin
from idp.lifecycle.context import ACTIVATION_PATH
from .session import JUST_ACTIVATED
from idp.runtime import runtime

from . import feedback
from .formatting import document_types
from . import session, stash
from .auth import safe_next
from .citizen_forms import (
    ActivationForm,
    ElectronicRegistrationForm,
    RegistrationForm,
    SignedUploadForm,
)
from .lifecycle_pages import ELECTRONIC_SHEET, context, keep_registration_sheet, refused, shown_once, take_sheet

bp = Blueprint("registration", __name__)

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
    return render_template("citizen/electronic.html", form=form, types=document_types())


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
            feedback.refuse(exc, form.labels())
            return redirect(url_for("registration.electronic_sign"), 303)
        stash.drop("electronic_document")
        keep_registration_sheet(ELECTRONIC_SHEET, sheet)
        return redirect(url_for("registration.electronic_sheet"), 303)
    has_document = stash.peek("electronic_document", ttl=KEPT_SECONDS) is not None
    return render_template(
        "citizen/electronic_sign.html", form=form, has_document=has_document, document_name=DOCUMENT_NAME,
        lifetime_days=rt.policy.registration_document_lifetime.days,
    )


@bp.get("/register/electronic/sheet")
def electronic_sheet():
    sheet = take_sheet(ELECTRONIC_SHEET)
    if sheet is None:
        return render_template("citizen/sheet_gone.html"), 410
    return shown_once(render_template("citizen/sheet.html", sheet=sheet))


# -- activation (rule 6) -----------------------------------------------------------------


def _activation_page(form, nxt: str | None):
    """The page again, answering the POST itself (never stored, never cached): what the citizen typed
    stays, the initial password included, except the code, which is typed anew."""
    form.code.data = ""
    return render_template("citizen/activate.html", form=form, next=nxt or "",
                           initial_password=form.initial_password.data or "")


@bp.route(ACTIVATION_PATH, methods=["GET", "POST"])
def activate():
    """Activation is the first sign-in (rule 6): a session starts, and the password page follows at once,
    since the gate keeps every agency out until the citizen has chosen a password (rule 7)."""
    rt = runtime()
    nxt = safe_next(request.values.get("next"))
    if request.method == "POST":
        form = ActivationForm()
        username = (form.username.data or "").strip()
        form_session["activation_username"] = username
        empty = {name: "field_required" for name in form.INPUTS if not (form[name].data or "").strip()}
        if empty:
            # A form sent empty is told to fill in the fields, and no sign-in attempt is counted.
            feedback.refuse(AccountError("field_required", fields=empty), form.labels())
            return _activation_page(form, nxt)
        try:
            account = citizen.activate(context(), username, form.initial_password.data or "", form.code.data or "",
                                       rt.now(), address=session.client_address())
        except AccountError as exc:
            feedback.refuse(exc, form.labels())
            return _activation_page(form, nxt)
        form_session.pop("activation_username", None)
        sso = session.signed_in(signin.begin(context(), account, [assurance.PWD], session.device(), rt.now(),
                                             replacing=session.current()))
        # The initial password was just proven: the password page that follows does not ask for it again.
        form_session[JUST_ACTIVATED] = {"sid": sso.sid, "at": rt.now().timestamp()}
        feedback.done("activated")
        return redirect(url_for("account.password", next=nxt) if nxt else url_for("account.password"), 303)
    form = ActivationForm(data={"username": form_session.get("activation_username") or request.args.get("username", "")})
    return render_template("citizen/activate.html", form=form, next=nxt or "")
