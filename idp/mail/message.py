"""A mail to a citizen and its RFC 5322 form.

Both backends send the same ``EmailMessage`` (RFC 5322 headers, MIME parts in
UTF-8, quoted-printable so it passes any relay), built here so the outbox file
is byte for byte what an SMTP server would receive.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, make_msgid, parseaddr

#: Mail is written and sent with CRLF line ends (RFC 5322 §2.1).
POLICY = SMTP_POLICY


class MailError(Exception):
    """Mail could not be composed, written or handed to the server.

    ``reason`` is a stable snake_case code (also the i18n message id):
    ``mail_invalid_address``, ``mail_unavailable`` (no connection, timeout, or
    a temporary refusal), ``mail_tls_failed`` (no STARTTLS offered or the
    server's certificate not trusted), ``mail_auth_failed``, ``mail_rejected``
    (the server refused the sender, a recipient or the content for good),
    ``mail_outbox_failed``, ``outbox_message_not_found``.
    """

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def masked(address: str) -> str:
    """An address as logs show it: enough to tell mails apart, not enough to read who (ASVS V16.2.5)."""
    local, _, domain = address.rpartition("@")
    if not local:
        return "***"
    return f"{local[0]}***@{domain}"


def check_address(value: str) -> str:
    """Return the bare address of ``value`` ("Name <a@b>" or "a@b"); refuse header injection."""
    if "\r" in value or "\n" in value:
        raise MailError("mail_invalid_address")
    address = parseaddr(value)[1]
    local, at, domain = address.rpartition("@")
    if not at or not local or "." not in domain or any(c.isspace() for c in address):
        raise MailError("mail_invalid_address")
    return address


@dataclass(frozen=True)
class Message:
    """One mail to one citizen. ``text`` is required (every mail reads as plain text); ``html`` is
    an optional alternative; ``locale`` is the language it is written in."""

    to: str
    subject: str
    text: str
    html: str | None = None
    locale: str = "hu"

    def __post_init__(self) -> None:
        check_address(self.to)
        if "\r" in self.subject or "\n" in self.subject:
            raise ValueError("a subject is one line")

    def __repr__(self) -> str:  # the body may carry a one-time code
        return f"<Message to={self.to!r} subject={self.subject!r}>"


def to_email(message: Message, *, sender: str, now: datetime) -> EmailMessage:
    """The RFC 5322 message: From, To, Subject, Date, Message-ID, and text (+ HTML) in UTF-8."""
    domain = check_address(sender).rpartition("@")[2]
    email = EmailMessage(policy=POLICY)
    email["From"] = sender
    email["To"] = message.to
    email["Subject"] = message.subject
    email["Date"] = format_datetime(now)
    email["Message-ID"] = make_msgid(domain=domain)
    email["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to a notice
    email.set_content(message.text, charset="utf-8", cte="quoted-printable")
    if message.html is not None:
        email.add_alternative(message.html, subtype="html", charset="utf-8", cte="quoted-printable")
    # After the body: add_alternative moves every Content-* header into the first part.
    email["Content-Language"] = message.locale  # RFC 3282
    return email
