"""Hungarian first, English second (Flask-Babel with gettext catalogues).

The language is chosen by, in order: an explicit switch (``?lang=``, then
remembered in a cookie), the agency's ``ui_locales`` (of the request, or of the
interaction a page works on), the browser's
Accept-Language, and the configured default (Hungarian).
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlencode

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, g, request, url_for
from flask_babel import format_date, get_locale
from flask_babel import lazy_gettext as _l
from jinja2 import pass_context
from markupsafe import Markup
from werkzeug.exceptions import HTTPException

from idp.runtime import runtime

LOCALES = ("hu", "en")
LANG_COOKIE = "lang"
TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"


def compile_catalogs() -> None:
    """Compile each ``.po`` into ``.mo`` when missing or older (no binary files in the repository)."""
    for po in TRANSLATIONS.glob("*/LC_MESSAGES/*.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as fh:
            catalog = read_po(fh)
        tmp = mo.with_suffix(".mo.tmp")
        with tmp.open("wb") as fh:
            write_mo(fh, catalog)
        tmp.replace(mo)


def _from_ui_locales(value: str | None) -> str | None:
    for tag in (value or "").split():
        base = tag.split("-")[0].lower()
        if base in LOCALES:
            return base
    return None


def _ui_locales_param() -> str | None:
    """``ui_locales`` from the query or the form; the form is skipped when its body cannot be read
    (too large, malformed), so the error page for that request can still be rendered."""
    try:
        return request.values.get("ui_locales")
    except HTTPException:
        return request.args.get("ui_locales")


def requested_switch() -> str | None:
    lang = request.args.get("lang")
    return lang if lang in LOCALES else None


def select_locale() -> str:
    if "locale" in g:
        return g.locale
    choice = requested_switch() or request.cookies.get(LANG_COOKIE)
    if choice not in LOCALES:
        choice = _from_ui_locales(_ui_locales_param())
    if choice is None:  # an agency's interaction page: the request's ui_locales
        choice = _from_ui_locales(g.get("ui_locales"))
    if choice is None:
        choice = request.accept_languages.best_match(LOCALES)
    g.locale = choice or runtime().settings.server.default_locale
    return g.locale


SCOPE_TEXT = {
    "openid": (_l("Your identifier for this agency"), _l("A code that identifies you to this agency only.")),
    "profile": (_l("Name and date of birth"), _l("Family and given name, date of birth, preferred language.")),
    "email": (_l("Email address"), _l("The email address you registered, which can receive official documents.")),
    "address": (_l("Home address"), _l("The home address you registered.")),
    "natural_identity": (
        _l("Natural identity data"),
        _l("Birth name, place of birth and mother's birth name."),
    ),
    "verified_claims": (
        _l("How your identity was verified"),
        _l(
            "That your name and birth data were checked, when, and how: the type and expiry date of the "
            "identity document you showed at an office (not its number), or the electronic signature you "
            "registered with."
        ),
    ),
    "offline_access": (
        _l("Access while you are not signed in"),
        _l("May read your data while you are not signed in, until you withdraw it."),
    ),
}


def scope_label(scope: str):
    return SCOPE_TEXT.get(scope, (scope, ""))[0]


def person_name(account) -> str:
    """Hungarian order (family name first) in Hungarian, given name first in English."""
    if str(get_locale()) == "hu":
        return " ".join(p for p in (account.family_name, account.given_name) if p)
    return " ".join(p for p in (account.given_name, account.family_name) if p)


_HU_VOWELS = set("aáeéiíoóöőuúüűAÁEÉIÍOÓÖŐUÚÜŰ")


def agency_subject(name: str) -> str:
    """An agency's name as the subject opening a sentence. Hungarian puts the definite article before
    an institution's name: "A Demo Adóhivatal", "Az Országos Nyugdíjbiztosítási Főigazgatóság"."""
    if str(get_locale()) != "hu" or not name:
        return name
    return ("Az " if name[0] in _HU_VOWELS else "A ") + name


def lang_url(code: str) -> str:
    """This page in another language: the query kept apart from ``url_for``'s arguments, where a
    query parameter named like a path variable, ``endpoint`` or ``_external`` would clash (a 500
    found by tests/web/test_fuzz.py) or steer the link."""
    args = request.args.to_dict(flat=False)
    args["lang"] = [code]
    return url_for(request.endpoint or "auth.home", **(request.view_args or {})) + "?" + urlencode(args, doseq=True)


_DOUBLED_STOP = re.compile(r"(?<!\.)\.\.(?!\.)")


def single_stop(text: str) -> str:
    """One full stop where a sentence ends on a value that already ends with one: an abbreviation
    ("Budapest XI.") or a Hungarian ordinal date ("2026. december 2."). An ellipsis stays."""
    return _DOUBLED_STOP.sub(".", text)


def _single_stops(translate):
    """Wrap a Jinja gettext callable: the sentence is formatted first, then its stops are made single."""

    @pass_context
    def wrapped(context, *args, **kwargs):
        text = context.call(translate, *args, **kwargs)
        return Markup(single_stop(text)) if isinstance(text, Markup) else single_stop(text)

    return wrapped


def init_app(app: Flask) -> None:
    for name in ("gettext", "ngettext", "pgettext", "npgettext"):  # ``_`` resolves ``gettext``
        if name in app.jinja_env.globals:
            app.jinja_env.globals[name] = _single_stops(app.jinja_env.globals[name])

    @app.context_processor
    def _helpers():
        return {
            "current_locale": lambda: str(get_locale()),
            "lang_url": lang_url,
            "person_name": person_name,
            "agency_subject": agency_subject,
            "format_date": lambda d: format_date(d, "long"),
            "scope_label": scope_label,
            "scope_description": lambda s: SCOPE_TEXT.get(s, ("", ""))[1],
        }

    @app.after_request
    def _remember_switch(response):
        lang = requested_switch()
        if lang:
            response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="Lax", httponly=True,
                                secure=runtime().settings.is_https, path="/")
        return response
