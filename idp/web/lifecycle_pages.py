"""What the citizen's lifecycle pages and the office console share: the services' context, a
refusal shown beside the form it came from, and the registration sheet shown once (rule 5)."""

from __future__ import annotations

from datetime import datetime

from flask import Response, redirect

from idp.accounts.errors import AccountError
from idp.extensions import db
from idp.lifecycle.context import Context, context_for
from idp.runtime import runtime

from . import feedback
from . import stash

#: Where each page keeps its registration sheet: the office console's and the electronic
#: registration's never share a slot, so one page cannot open the other's sheet.
OFFICE_SHEET = "office_sheet"
ELECTRONIC_SHEET = "electronic_sheet"


def context() -> Context:
    return context_for(runtime(), db.session)


def refused(exc: AccountError, form, kind: str, back: str) -> Response:
    """Flash ``exc`` at the form's inputs, keep what was typed (no password), and go back (303)."""
    feedback.refuse(exc, form.labels())
    stash.keep(kind, form.draft())
    return redirect(back, 303)


def keep_sheet(slot: str, *, identifier: str, username: str, name: str, initial_password: str,
               activation_deadline: datetime | None, mail_sent: bool) -> None:
    stash.keep_once(slot, {
        "identifier": identifier, "username": username, "name": name, "initial_password": initial_password,
        "activation_deadline": activation_deadline, "mail_sent": mail_sent,
    })


def keep_registration_sheet(slot: str, sheet) -> None:
    """``idp.lifecycle.registration.RegistrationSheet``, for the GET after the POST."""
    keep_sheet(slot, identifier=sheet.identifier, username=sheet.username, name=sheet.name,
               initial_password=sheet.initial_password, activation_deadline=sheet.activation_deadline,
               mail_sent=sheet.mail_sent)


def take_sheet(slot: str) -> dict | None:
    """The sheet kept by the POST, removed: its initial password is shown this once."""
    sheet = stash.take_once(slot)
    if sheet is not None and sheet.get("activation_deadline"):
        sheet["activation_deadline"] = datetime.fromisoformat(sheet["activation_deadline"])
    return sheet


def shown_once(html: str) -> Response:
    """A page with a secret on it (the initial password): never stored by a browser or a proxy."""
    response = Response(html)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response
