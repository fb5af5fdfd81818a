"""Dates, moments, document types and states as a citizen or an officer reads them, in the page's
language; available to every template."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from flask import Flask
from flask_babel import get_locale

from idp.accounts.documents import DOCUMENT_RULES
from idp.runtime import runtime

from . import messages


def document_types() -> list[tuple[str, str]]:
    """The accepted identity documents (``DOCUMENT_RULES``, the one table) in the page's language."""
    hungarian = str(get_locale()) == "hu"
    names = [(rule.doc_type, rule.name_hu if hungarian else rule.name_en) for rule in DOCUMENT_RULES]
    return [(doc_type, name[:1].upper() + name[1:]) for doc_type, name in names]


def document_example(doc_type: str) -> str:
    return next((rule.number_example for rule in DOCUMENT_RULES if rule.doc_type == doc_type), "")


def _local(value: datetime) -> datetime:
    return value.astimezone(ZoneInfo(runtime().settings.mail.timezone))


def format_day(value: date | datetime | None) -> str:
    """A date as the citizen reads it: their language; a moment's day in the provider's time zone
    (the one the mails use)."""
    if value is None:
        return ""
    day = _local(value) if isinstance(value, datetime) else value
    return format_date(day, "long", locale=str(get_locale()))


def format_moment(value: datetime | None) -> str:
    """A date and time, as ``format_day``."""
    if value is None:
        return ""
    return f"{format_day(value)} {format_time(_local(value), 'short', locale=str(get_locale()))}"


def document_option_data() -> dict[str, dict[str, str]]:
    """Per document type, what the form's script needs: whether an expiry date is required."""
    return {rule.doc_type: {"expiry-required": "true" if rule.expiry_required else "false"} for rule in DOCUMENT_RULES}


def helpers() -> dict:
    """For every template (registered by ``init_app``)."""
    return {
        "document_option_data": document_option_data,
        "format_day": format_day,
        "format_moment": format_moment,
        "state_label": lambda state: str(messages.STATES.get(str(state), state)),
    }


def init_app(app: Flask) -> None:
    app.context_processor(helpers)
