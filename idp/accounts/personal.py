"""The personal data a citizen registers (PRODUCT.md rule 3) and the shape it must have.

"Data recorded for a private person: family and given name; family and given
name at birth; mother's family and given name at birth; place of birth; date of
birth; the number of the identity document used; a username; an email address;
a home address." The document is checked apart (``documents``), when an officer
sees it or the citizen signs electronically.

Checks here are about shape only (required, length, syntax); uniqueness of the
username and of the natural person needs the database (``registration``).
Every problem is reported per field with a reason code, so a page can mark each
field; the first one is the error's ``reason``.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from .errors import AccountError
from .models import Account, person_key

NAME_FIELDS = (
    "family_name",
    "given_name",
    "birth_family_name",
    "birth_given_name",
    "mother_birth_family_name",
    "mother_birth_given_name",
    "birth_place",
)
ADDRESS_FIELDS = ("address_postal_code", "address_locality", "address_street", "address_country")
#: The columns of ``Account`` a registration fills and an officer may change (rule 9).
DATA_FIELDS = (
    "username",
    *NAME_FIELDS,
    "birth_country",
    "birth_date",
    "email",
    *ADDRESS_FIELDS,
    "locale",
)
#: Fields whose change may make the account someone else's natural identity (rule 3).
PERSON_FIELDS = (
    "birth_family_name",
    "birth_given_name",
    "mother_birth_family_name",
    "mother_birth_given_name",
    "birth_place",
    "birth_date",
)

USERNAME_MIN = 3
USERNAME_MAX = 64
NAME_MAX = 100
STREET_MAX = 200
EMAIL_MAX = 254
EARLIEST_BIRTH = date(1900, 1, 1)
LOCALES = ("hu", "en")

REASONS = (
    "field_required",
    "field_too_long",
    "field_invalid",
    "name_too_long",
    "street_too_long",
    "name_characters",
    "place_characters",
    "street_characters",
    "username_invalid",
    "email_invalid",
    "birth_date_invalid",
    "postal_code_invalid",
    "country_invalid",
    "locale_invalid",
)

# Letters and digits of any script, and . _ - inside; begins and ends with a letter or digit.
_USERNAME = re.compile(r"[^\W_](?:[\w.\-]*[^\W_])?")
_EMAIL_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_DOMAIN_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_COUNTRY = re.compile(r"[A-Z]{2}")
_HU_POSTAL = re.compile(r"[1-9][0-9]{3}")
_POSTAL = re.compile(r"[A-Z0-9][A-Z0-9 \-]{1,9}")


@dataclass(frozen=True)
class Registration:
    """What a citizen gives when registering, in any channel (rule 3, without the document)."""

    username: str
    family_name: str
    given_name: str
    birth_family_name: str
    birth_given_name: str
    mother_birth_family_name: str
    mother_birth_given_name: str
    birth_place: str
    birth_date: date
    email: str
    address_postal_code: str
    address_locality: str
    address_street: str
    address_country: str = "HU"
    birth_country: str = "HU"
    locale: str = "hu"

    @property
    def person_key(self) -> str:
        return person_key(
            self.birth_family_name,
            self.birth_given_name,
            self.mother_birth_family_name,
            self.mother_birth_given_name,
            self.birth_place,
            self.birth_date,
        )

    def values(self) -> dict[str, object]:
        return dataclasses.asdict(self)

    def __repr__(self) -> str:  # never the personal data
        return "<Registration>"


def _text(value: object) -> str:
    """NFC, surrounding space removed, inner runs of space made one."""
    return " ".join(unicodedata.normalize("NFC", str(value or "")).split())


def _has_control(value: str) -> bool:
    return any(unicodedata.category(c).startswith("C") for c in value)


def username_problem(username: str) -> str | None:
    value = unicodedata.normalize("NFKC", username or "").strip()
    if not value:
        return "field_required"
    if not USERNAME_MIN <= len(value) <= USERNAME_MAX or not _USERNAME.fullmatch(value):
        return "username_invalid"
    return None


def normalise_email(email: str) -> str:
    """The address with its domain in lower case (the local part is the mailbox owner's)."""
    local, _, domain = _text(email).rpartition("@")
    return f"{local}@{domain.lower()}"


def email_problem(email: str) -> str | None:
    """Syntax an SMTP server accepts for delivery (RFC 5321 §4.1.2 dot-atom, RFC 5890 domains).

    Only dot-atom local parts: quoted local parts and IP-literal domains are legal
    but no address to which official documents go looks like that.
    """
    value = _text(email)
    if not value:
        return "field_required"
    if len(value) > EMAIL_MAX or " " in value or _has_control(value):
        return "email_invalid"
    local, at, domain = value.rpartition("@")
    if not at or not local or len(local) > 64 or not _EMAIL_LOCAL.fullmatch(local):
        return "email_invalid"
    try:
        ascii_domain = domain.lower().encode("idna").decode("ascii")
    except UnicodeError:
        return "email_invalid"
    labels = ascii_domain.split(".")
    if len(labels) < 2 or len(ascii_domain) > 253 or not all(_DOMAIN_LABEL.fullmatch(label) for label in labels):
        return "email_invalid"
    if labels[-1].isdigit():
        return "email_invalid"
    return None


#: Besides letters (any script) and their accents: what a name is written with ("Kiss-Nagy",
#: "O'Brien", "ifj.", "Kovács Jr."); a place adds , ( ) / ("Budapest XI.", "Szeged (Tápé)").
#: Digits are let through (they are no markup, and some test and foreign records carry them).
_NAME_EXTRA = frozenset(" -'.’‘0123456789")
_PLACE_EXTRA = _NAME_EXTRA | frozenset(",()/")
#: Never in a street address: markup and template characters.
_MARKUP = frozenset('<>"\\{}[]`')
#: Fields written like a place rather than a person's name.
PLACE_FIELDS = ("birth_place", "address_locality")


def _letters_only(value: str, extra: frozenset[str]) -> bool:
    return all(unicodedata.category(c)[0] in "LM" or c in extra for c in value)


def _name_problem(raw: object, value: str, extra: frozenset[str] = _NAME_EXTRA,
                  characters: str = "name_characters") -> str | None:
    """Required, at most ``NAME_MAX`` characters (said, never cut), letters with the few marks a
    name is written with: no markup, no control characters (tabs and line breaks included)."""
    if not value:
        return "field_required"
    if len(value) > NAME_MAX:
        return "name_too_long"
    if _has_control(str(raw)) or not _letters_only(value, extra):
        return characters
    if not any(c.isalpha() for c in value):
        return "field_invalid"
    return None


def field_problem(name: str, value: object, today: date) -> str | None:
    """The reason ``value`` cannot be field ``name`` of a registration, or None."""
    if name == "username":
        return username_problem(str(value or ""))
    if name == "email":
        return email_problem(str(value or ""))
    if name == "birth_date":
        if not isinstance(value, date):
            return "field_required" if value in (None, "") else "birth_date_invalid"
        return None if EARLIEST_BIRTH <= value <= today else "birth_date_invalid"
    if name in ("address_country", "birth_country"):
        return None if _COUNTRY.fullmatch(_text(value).upper()) else "country_invalid"
    if name == "locale":
        return None if value in LOCALES else "locale_invalid"
    text = _text(value)
    if name == "address_postal_code":
        if not text:
            return "field_required"
        return None if _POSTAL.fullmatch(text.upper()) else "postal_code_invalid"
    if name == "address_street":
        if not text:
            return "field_required"
        if len(text) > STREET_MAX:
            return "street_too_long"
        return "street_characters" if _has_control(str(value)) or any(c in _MARKUP for c in text) else None
    if name in PLACE_FIELDS:
        return _name_problem(value, text, _PLACE_EXTRA, "place_characters")
    return _name_problem(value, text)


def normalised_value(name: str, value: object) -> object:
    if name == "birth_date" or name == "locale":
        return value
    if name == "username":
        return unicodedata.normalize("NFKC", str(value)).strip()
    if name == "email":
        return normalise_email(str(value))
    if name in ("address_country", "birth_country", "address_postal_code"):
        return _text(value).upper()
    return _text(value)


def check_fields(values: Mapping[str, object], today: date) -> dict[str, object]:
    """Normalise ``values`` (field name → value); raises with every field's problem."""
    unknown = set(values) - set(DATA_FIELDS)
    if unknown:
        raise AccountError("field_invalid", fields={name: "field_invalid" for name in sorted(unknown)})
    problems = {name: p for name, value in values.items() if (p := field_problem(name, value, today))}
    hungarian = _text(values.get("address_country", "HU")).upper() == "HU"
    if "address_postal_code" in values and hungarian and not problems.get("address_postal_code"):
        if not _HU_POSTAL.fullmatch(_text(values["address_postal_code"])):
            problems["address_postal_code"] = "postal_code_invalid"
    if problems:
        first = next(name for name in DATA_FIELDS if name in problems)
        raise AccountError(problems[first], fields=problems)
    return {name: normalised_value(name, value) for name, value in values.items()}


def check_registration(registration: Registration, today: date) -> Registration:
    """The registration normalised, or ``AccountError`` naming each field's problem."""
    return Registration(**check_fields(registration.values(), today))


def apply(account: Account, registration: Registration) -> None:
    for name, value in registration.values().items():
        setattr(account, name, value)


def snapshot(account: Account, fields: tuple[str, ...] = DATA_FIELDS) -> dict[str, object]:
    return {name: getattr(account, name) for name in fields}
