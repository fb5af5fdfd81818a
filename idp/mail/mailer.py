"""What every mail backend offers: send a ``Message``, or compose one from a template and send it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from idp import metrics
from idp.clock import SystemClock

from .message import Message
from .templates import MailTemplates


class Mailer(ABC):
    """Base of the backends. ``send`` returns the Message-ID, for the audit record."""

    def __init__(self, sender: str, *, templates: MailTemplates | None = None, clock=None):
        self.sender = sender
        self.templates = templates or MailTemplates()
        self.clock = clock or SystemClock()

    @abstractmethod
    def send(self, message: Message) -> str:
        """Deliver ``message``; returns its Message-ID."""

    def send_template(self, to: str, template: str, locale: str | None, /, **context: Any) -> str:
        """Render mail ``template`` in ``locale`` (Hungarian when unknown) and send it to ``to``."""
        try:
            message_id = self.send(self.templates.compose(template, to, locale, **context))
        except Exception:
            metrics.mail(template, sent=False)
            raise
        metrics.mail(template, sent=True)
        return message_id
