"""Mail to citizens: the activation code (PRODUCT.md rule 6, "egy e-mailben küldött
kód"), validity reminders (rule 8), and notices of a data change, a deletion, a
lapse or an expiry, and a password change.

Two backends behind one ``Mailer.send(message)``: the outbox for the zero-setup
demo (an ``.eml`` file per mail and a log line) and SMTP for production
(PRODUCT.md "Real parts"). Texts are Jinja templates per language under
``templates/mail``. No Flask here, so the domain services can send mail; the
application factory builds one mailer per process with ``build_mailer``.

Rule 11 ("never sends a password by email"): no template takes a password;
a one-time code is fine, which is why the outbox and the log keep bodies out of
sight.
"""

from __future__ import annotations

from idp.settings import MailSettings, resolve_path

from .mailer import Mailer
from .message import MailError, Message
from .outbox import OutboxEntry, OutboxMail, OutboxMailer, list_outbox, read_outbox
from .smtp import SmtpMailer
from .templates import LOCALES, MailTemplates, Rendered, render

__all__ = [
    "LOCALES",
    "MailError",
    "MailTemplates",
    "Mailer",
    "Message",
    "OutboxEntry",
    "OutboxMail",
    "OutboxMailer",
    "Rendered",
    "SmtpMailer",
    "build_mailer",
    "list_outbox",
    "read_outbox",
    "render",
]


def build_mailer(settings: MailSettings, *, clock=None, templates: MailTemplates | None = None) -> Mailer:
    """The mailer that ``settings`` (the validated ``[mail]`` section) describe."""
    templates = templates or MailTemplates(timezone=settings.timezone)
    if settings.backend == "smtp":
        return SmtpMailer(
            settings.smtp_host,
            settings.from_address,
            port=settings.smtp_port,
            security=settings.smtp_security,
            username=settings.smtp_username,
            password=settings.smtp_password,
            ca_file=resolve_path(settings.smtp_ca_file) if settings.smtp_ca_file else None,
            timeout=settings.smtp_timeout_seconds,
            templates=templates,
            clock=clock,
        )
    return OutboxMailer(resolve_path(settings.outbox_dir), settings.from_address, templates=templates, clock=clock)
