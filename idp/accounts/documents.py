"""Identity documents that prove who a citizen is (PRODUCT.md rule 2).

"Identity is proven with one of: identity card, passport, or a driving licence
issued after 1 January 2001" — "személyazonosító igazolvánnyal, útlevéllel vagy
2001. január 1. után kiállított vezetői engedéllyel". An expired document is refused.

The accepted documents are one table, :data:`DOCUMENT_RULES`, that an operator can
read: the number format (after normalising: upper case, spaces and dashes removed),
whether an expiry date is required, and the date a document must be issued *after*.

Number formats, as printed on the documents:

* identity card (*személyazonosító igazolvány*): six digits and two letters,
  ``123456AB``. That is the plastic card issued since 2000, and the electronic
  card (*eSzemélyi*) issued since 2016 and in its 2021 EU version keeps it. Two
  letters and six digits (``AB 123456``, with a Roman-numeral series ``AU-I 123456``)
  is not a newer card but the old booklet (*könyvecske*) issued before 2000; it is
  deliberately not accepted: it shows no expiry date, its number has the same
  shape as a driving licence's, and a booklet is no longer issued. Adding it is one
  more pattern in the row.
  Cards issued to elderly holders are valid indefinitely ("határozatlan ideig
  érvényes"), so the card's expiry date is optional; when given it is checked.
* passport (*útlevél*): two letters and seven digits, ``BE1234567`` (biometric
  passports since 2006; every older one has expired).
* driving licence (*vezetői engedély*, card format): two letters and six digits,
  ``CA123456``; the card always states an expiry date (field 4b).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from .errors import AccountError

REASONS = (
    "document_type_unknown",
    "document_number_invalid",
    "document_issued_in_future",
    "document_expiry_missing",
    "document_dates_inconsistent",
    "licence_issued_too_early",
    "document_expired",
)


@dataclass(frozen=True)
class DocumentRule:
    doc_type: str
    name_hu: str
    name_en: str
    number_pattern: str  # full match on the normalised number
    number_example: str
    expiry_required: bool
    issued_after: date | None  # exclusive: a document issued on this very day is refused

    def number_matches(self, normalised: str) -> bool:
        return re.fullmatch(self.number_pattern, normalised) is not None


DOCUMENT_RULES: tuple[DocumentRule, ...] = (
    #            type              Hungarian name                  English name      number             example      expiry  issued after
    DocumentRule("identity_card", "személyazonosító igazolvány", "identity card", r"[0-9]{6}[A-Z]{2}", "123456AB", False, None),
    DocumentRule("passport", "útlevél", "passport", r"[A-Z]{2}[0-9]{7}", "BE1234567", True, None),
    DocumentRule("driving_licence", "vezetői engedély", "driving licence", r"[A-Z]{2}[0-9]{6}", "CA123456", True,
                 date(2001, 1, 1)),
)

RULES_BY_TYPE: dict[str, DocumentRule] = {rule.doc_type: rule for rule in DOCUMENT_RULES}

_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212]+")


@dataclass(frozen=True)
class Document:
    """A document that passed :func:`check_document`; ``number`` is normalised."""

    doc_type: str
    number: str
    issued_on: date
    expires_on: date | None


def normalise_number(number: str) -> str:
    """Upper case, spaces and dashes removed: what an officer types is compared as printed."""
    return _SEPARATORS.sub("", number).upper()


def check_document(
    doc_type: str,
    number: str,
    issued_on: date,
    expires_on: date | None,
    today: date,
) -> Document:
    """Check an identity document against PRODUCT.md rule 2 and return it normalised.

    Rule 2: identity is proven with an identity card, a passport, or a driving licence
    "2001. január 1. után kiállított" (issued after 1 January 2001); an expired
    document is refused. Raises :class:`AccountError` with one of :data:`REASONS`.
    A document expiring today is still valid today.
    """
    rule = RULES_BY_TYPE.get(doc_type)
    if rule is None:
        raise AccountError("document_type_unknown", doc_type=doc_type)
    normalised = normalise_number(number) if isinstance(number, str) else ""
    # Every problem at once, in the form's order (the first is the error's reason, the rest ride along
    # in ``also``), so a licence refused for its date also says that its expiry date is missing.
    problems: list[tuple[str, dict]] = []
    if not rule.number_matches(normalised):
        problems.append(("document_number_invalid", {"doc_type": doc_type, "example": rule.number_example}))
    if issued_on > today:
        problems.append(("document_issued_in_future", {}))
    if rule.issued_after is not None and issued_on <= rule.issued_after:
        problems.append(("licence_issued_too_early", {"issued_after": rule.issued_after.isoformat()}))
    if expires_on is None and rule.expiry_required:
        problems.append(("document_expiry_missing", {"doc_type": doc_type}))
    if expires_on is not None and expires_on <= issued_on:
        problems.append(("document_dates_inconsistent", {}))
    if expires_on is not None and expires_on < today and not any(r == "document_dates_inconsistent" for r, _ in problems):
        problems.append(("document_expired", {"expired_on": expires_on.isoformat()}))
    if problems:
        (reason, details), *rest = problems
        raise AccountError(reason, **details, also=tuple(rest)) if rest else AccountError(reason, **details)
    return Document(doc_type=doc_type, number=normalised, issued_on=issued_on, expires_on=expires_on)
