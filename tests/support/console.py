"""Story helpers for the lifecycle pages through the Flask test client: forms posted with their
CSRF token, an officer signing in to the console, the code read from the outbox, and a
reason code turned into the message the page must show for it."""

from __future__ import annotations

import html as html_lib
import re
from dataclasses import dataclass
from datetime import date

from idp.mail import list_outbox, read_outbox
from idp.settings import resolve_path
from idp.web import messages as msgs

from .flows import csrf_of
from .lifecycle import OfficerLogin
from .smtp import find_code


def text_of(response) -> str:
    return html_lib.unescape(response.get_data(as_text=True))


def submit(http, page_url: str, data: dict, action: str | None = None, **kwargs):
    """GET the page for its CSRF token, POST ``data`` to its form (``action``, default the page)."""
    page = http.get(page_url)
    assert page.status_code == 200, (page_url, page.status_code)
    return http.post(action or page_url, data={"csrf_token": csrf_of(page.get_data(as_text=True)), **data}, **kwargs)


def follow(http, response):
    """The page a 303 leads to."""
    assert response.status_code == 303, (response.status_code, response.get_data(as_text=True)[:300])
    return http.get(response.headers["Location"])


def field_error(html: str, name: str) -> str | None:
    """The message tied to input ``name`` (its ``-error`` description), when the input is marked invalid."""
    if not re.search(rf'<(?:input|select)\b[^>]*\bid="{name}"[^>]*aria-invalid="true"', html):
        return None
    match = re.search(rf'<p id="{name}-error" class="field-error">([^<]*)</p>', html)
    return html_lib.unescape(match.group(1)) if match else None


def reason_text(app, reason: str, **details) -> str:
    """The page's message for ``reason``, in the default language (the test client sends none)."""
    with app.test_request_context("/"):
        return msgs.message(reason, details)


def field_problem_text(app, problem: str) -> str:
    with app.test_request_context("/"):
        return str(msgs.FIELD_PROBLEMS[problem])


def outbox_code(rt, email: str) -> str:
    """The activation code of the latest mail to ``email`` in the outbox."""
    folder = resolve_path(rt.settings.mail.outbox_dir)
    entries = list_outbox(folder, to=email)
    assert entries, f"no mail to {email}"
    return find_code(read_outbox(folder, entries[0].name).text)


def sign_in_officer(http, rt, login: OfficerLogin, code: str | None = None):
    return submit(http, "/office/sign-in", {
        "username": login.officer.username, "password": login.password, "code": code or login.code(rt),
    })


def personal_form(registration) -> dict[str, str]:
    """A ``Registration`` as the page's inputs send it."""
    return {k: v.isoformat() if isinstance(v, date) else str(v) for k, v in registration.values().items()}


def document_form(document) -> dict[str, str]:
    return {
        "doc_type": document.doc_type,
        "document_number": document.number,
        "document_issued_on": document.issued_on.isoformat(),
        "document_expires_on": document.expires_on.isoformat() if document.expires_on else "",
    }


@dataclass
class Sheet:
    identifier: str
    username: str
    initial_password: str


def read_sheet(html: str) -> Sheet:
    def value(id_: str) -> str:
        match = re.search(rf'id="{id_}"[^>]*>([^<]+)<', html)
        assert match, f"no {id_} on the sheet"
        return html_lib.unescape(match.group(1)).strip()

    return Sheet(value("sheet-identifier"), value("sheet-username"), value("sheet-initial-password"))
