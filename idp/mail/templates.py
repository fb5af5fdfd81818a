"""Mail texts per language: ``templates/mail/<name>.<locale>.txt`` and an optional ``.html``.

The text template's first line is ``Subject: ...``; the rest, after it, is the
body. Hungarian (``hu``) and English (``en``) exist for every mail; any other
language, or a missing translation, falls back to Hungarian. HTML is
autoescaped; a missing context variable is an error, not an empty string, so a
mail never goes out with a hole in it. Dates are written the way each language
writes them, in the configured time zone.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape

from .message import Message

DIRECTORY = Path(__file__).resolve().parent.parent.parent / "templates" / "mail"
LOCALES = ("hu", "en")
FALLBACK = "hu"

_MONTHS = {
    "hu": ("január", "február", "március", "április", "május", "június",
           "július", "augusztus", "szeptember", "október", "november", "december"),
    "en": ("January", "February", "March", "April", "May", "June",
           "July", "August", "September", "October", "November", "December"),
}


class Rendered(NamedTuple):
    subject: str
    text: str
    html: str | None


class MailTemplates:
    """Renders the mail templates of one folder; built once per process."""

    def __init__(self, directory: str | Path = DIRECTORY, *, timezone: str = "Europe/Budapest"):
        self.directory = Path(directory)
        self.zone = ZoneInfo(timezone)
        self.env = Environment(
            loader=FileSystemLoader(self.directory),
            autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False, default=False),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        self.env.filters["date"] = self._date
        self.env.filters["datetime"] = self._datetime
        self.env.filters["labelled"] = _labelled

    def names(self) -> list[str]:
        """Every mail there is a template for (its Hungarian text)."""
        return sorted(p.name.removesuffix(f".{FALLBACK}.txt") for p in self.directory.glob(f"[!_]*.{FALLBACK}.txt"))

    def locale_for(self, name: str, locale: str | None) -> str:
        if locale in LOCALES and (self.directory / f"{name}.{locale}.txt").is_file():
            return locale
        return FALLBACK

    def render(self, template_name: str, locale: str | None, /, **context: Any) -> Rendered:
        """``(subject, text, html)`` of mail ``template_name`` in ``locale`` (falling back to Hungarian)."""
        name = template_name
        locale = self.locale_for(name, locale)
        context["locale"] = locale
        text = self.env.get_template(f"{name}.{locale}.txt").render(context)
        first, _, body = text.lstrip().partition("\n")
        if not first.startswith("Subject:"):
            raise ValueError(f"{name}.{locale}.txt must start with a 'Subject:' line")
        subject = " ".join(first.removeprefix("Subject:").split())
        html = None
        if (self.directory / f"{name}.{locale}.html").is_file():
            html = self.env.get_template(f"{name}.{locale}.html").render(context)
        return Rendered(subject, body.lstrip("\n"), html)

    def compose(self, template_name: str, to: str, locale: str | None, /, **context: Any) -> Message:
        """The ``Message`` of mail ``template_name`` to ``to``, ready for ``Mailer.send``."""
        used = self.locale_for(template_name, locale)
        subject, text, html = self.render(template_name, used, **context)
        return Message(to=to, subject=subject, text=text, html=html, locale=used)

    # Filters: ``{{ valid_until|date }}``, ``{{ when|datetime }}`` in the template's language.

    def _local(self, value: date | datetime) -> date | datetime:
        if isinstance(value, datetime) and value.tzinfo is not None:
            return value.astimezone(self.zone)
        return value

    @pass_context
    def _date(self, ctx, value: date | datetime) -> str:
        d = self._local(value)
        month = _MONTHS[ctx["locale"]][d.month - 1]
        if ctx["locale"] == "hu":
            return f"{d.year}. {month} {d.day}."
        return f"{d.day} {month} {d.year}"

    @pass_context
    def _datetime(self, ctx, value: datetime) -> str:
        d = self._local(value)
        separator = " " if ctx["locale"] == "hu" else ", "
        return f"{self._date(ctx, d)}{separator}{d:%H:%M}"


def _labelled(keys, labels: dict) -> list[str]:
    """``{% for label in changed_fields|labelled(fields.hu) %}``: each label once, in order."""
    return list(dict.fromkeys(labels.get(k, k) for k in keys))


def render(template_name: str, locale: str | None, /, **context: Any) -> Rendered:
    """Render with the project's templates and the default time zone (for scripts and tests)."""
    return MailTemplates().render(template_name, locale, **context)
