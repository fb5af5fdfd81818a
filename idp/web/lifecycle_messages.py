"""The lifecycle's reason codes (registration, activation, validity, the office console) as
messages a citizen or an officer can read, in their language (STYLE.md habit 8).

A refusal is flashed as ``error:<field>`` when it is about one input: the page
lists it at the top as a link to that input and shows it at the input
(``templates/_inputs.html``). Per-field problems come from the service in
``details["fields"]``; whole-form reasons name their input in :data:`FIELD_OF`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from flask import flash
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from idp.accounts.documents import DOCUMENT_RULES
from idp.accounts.errors import AccountError
from idp.runtime import runtime

#: A field's problem, shown after the field's label ("Family name: this field is required.").
FIELD_PROBLEMS = {
    "field_required": _l("this field is required."),
    "field_too_long": _l("this is too long."),
    "field_invalid": _l("write it with letters, without special control characters."),
    "username_invalid": _l("use 3 to 64 letters or digits; dots, hyphens and underscores may stand between them."),
    "email_invalid": _l("this is not an email address that can receive mail."),
    "birth_date_invalid": _l("enter a real date of birth, not in the future (year-month-day)."),
    "postal_code_invalid": _l("this is not a valid postal code (in Hungary four digits)."),
    "country_invalid": _l("use the two-letter country code, for example HU."),
    "locale_invalid": _l("choose Hungarian or English."),
    "date_invalid": _l("enter a date (year-month-day)."),
}

#: Reasons about the whole form, or about one input named in FIELD_OF.
REASONS = {
    # registration (rules 1–5)
    "username_taken": _l("This username is already taken. Please choose another."),
    "person_has_account": _l(
        "An Ügyfélkapu already exists for this person (the same birth name, mother's birth name, place and "
        "date of birth). One person can have only one account."
    ),
    "registration_not_found": _l("No pre-registration waiting for identity verification has this number."),
    "not_pending_verification": _l("This registration has already been verified."),
    "statement_not_signed": _l(
        "The citizen must sign the data-provision statement before the registration can be completed."
    ),
    "identity_not_verified": _l("The identity has not been verified from a document."),
    # identity documents (rule 2)
    "document_type_unknown": _l("Choose the type of the identity document."),
    "document_number_invalid": _l("The number does not match this type of document (for example %(example)s)."),
    "document_issued_in_future": _l("The date of issue cannot be in the future."),
    "document_expiry_missing": _l("This type of document states an expiry date: please enter it."),
    "document_dates_inconsistent": _l("The expiry date must be later than the date of issue."),
    "licence_issued_too_early": _l(
        "A driving licence proves identity only if it was issued after 1 January 2001. Please show an "
        "identity card, a passport or a newer driving licence."
    ),
    "document_expired": _l("The document has expired, so it cannot prove identity."),
    # electronic registration (rule 1, third channel)
    "electronic_registration_unavailable": _l(
        "Electronic registration is not available at the moment. Please register at a government office."
    ),
    "statement_outdated": _l(
        "The document was made for an earlier version of the data-provision statement. Please download a new "
        "document and sign it again."
    ),
    "registration_document_invalid": _l(
        "This is not the registration document this service produced, or it was changed after it was "
        "downloaded. Upload the downloaded file unchanged."
    ),
    "signature_invalid": _l(
        "The signature is not valid for this document. Sign exactly the downloaded file, as a detached "
        "signature (.p7s)."
    ),
    "signing_time_implausible": _l("The signing time stated in the signature is not plausible."),
    "signature_untrusted": _l(
        "The signing certificate was not issued by a certification authority this service trusts."
    ),
    "certificate_expired": _l("The signing certificate was no longer valid when the document was signed."),
    "certificate_not_yet_valid": _l("The signing certificate was not yet valid when the document was signed."),
    "certificate_not_for_signing": _l("This certificate is not meant for electronic signatures."),
    "signer_name_mismatch": _l("The name in the signing certificate is not the name in the registration."),
    # activation (rule 6)
    "activation_failed": _l(
        "The username, the initial password or the code is not correct. If you have already activated your "
        "account, sign in instead."
    ),
    "activation_code_wrong": _l("The activation code is not correct. Attempts left: %(attempts_left)s."),
    "activation_code_expired": _l(
        "The activation code has expired. A government office can send you a new one."
    ),
    "activation_code_exhausted": _l(
        "Too many wrong codes: this code no longer works. A government office can send you a new one."
    ),
    "already_activated": _l("This registration is already activated. Sign in with your username and password."),
    "not_awaiting_activation": _l("This account is not waiting for activation."),
    # validity (rule 8)
    "extension_not_applicable": _l(
        "Your account has no end date, so there is nothing to extend. Your password has its own validity: "
        "change it before it runs out."
    ),
    "not_active": _l("Only an active account can be extended."),
    "validity_ended": _l(
        "The validity of your account has already ended. Please visit a government office in person."
    ),
    "initial_password": _l("Please change your initial password first."),
    # the office console (rules 9–10)
    "officer_sign_in_failed": _l(
        "The username, the password or the code is not correct. A code is accepted only once: if you have just "
        "used it, wait for the next one."
    ),
    "officer_inactive": _l("Your officer account is disabled."),
    "not_registering_office": _l(
        "Only an officer of the office that registered this account may change its data or delete it. Please "
        "direct the citizen to the registering office."
    ),
    "account_not_found": _l("No account has this identifier."),
    "account_ended": _l("This account has ended (lapsed, expired or deleted)."),
    "nothing_changed": _l("Nothing was changed: the data are the same as before."),
    "reactivation_not_needed": _l("This account does not need reactivation."),
    "sign_in_throttled": _l("Too many unsuccessful attempts. Please wait %(seconds)s seconds and try again."),
    "office_session_ended": _l("Your office console session has ended. Please sign in again."),
}

GENERIC = _l("The request could not be completed. Please check the data and try again.")
LABELLED = _l("%(label)s: %(problem)s")

#: The input a whole-form reason is about (when the form has that input).
FIELD_OF = {
    "username_taken": "username",
    "registration_not_found": "number",
    "statement_not_signed": "statement_signed",
    "document_type_unknown": "doc_type",
    "document_number_invalid": "document_number",
    "document_issued_in_future": "document_issued_on",
    "document_expiry_missing": "document_expires_on",
    "document_dates_inconsistent": "document_expires_on",
    "licence_issued_too_early": "document_issued_on",
    "document_expired": "document_expires_on",
    "statement_outdated": "document",
    "registration_document_invalid": "document",
    "signature_invalid": "signature",
    "signing_time_implausible": "signature",
    "signature_untrusted": "signature",
    "certificate_expired": "signature",
    "certificate_not_yet_valid": "signature",
    "certificate_not_for_signing": "signature",
    "signer_name_mismatch": "signature",
    "activation_code_wrong": "code",
    "activation_code_expired": "code",
    "activation_code_exhausted": "code",
    "account_not_found": "identifier",
}

#: Confirmations after a form.
DONE = {
    "activated": _l(
        "Your Ügyfélkapu is activated. Now choose your own password: until you do, no agency can sign you in."
    ),
    "validity_extended": _l("The validity of your account has been extended until %(date)s."),
    "officer_signed_in": _l("Signed in as %(name)s."),
    "officer_signed_out": _l("You have signed out of the office console."),
    "data_changed": _l("The data have been changed. The citizen has been notified by email."),
    "data_changed_mail_failed": _l(
        "The data have been changed, but the notification email could not be sent."
    ),
    "account_deleted": _l("The account %(identifier)s has been deleted and every sign-in to it ended."),
    "code_issued": _l("A new activation code has been sent to the citizen's email address."),
    "code_mail_failed": _l(
        "A new activation code was made, but the email could not be sent. Please try again later."
    ),
}

#: Account states as an officer reads them (``idp.accounts.states``).
STATES = {
    "pending_verification": _l("Pre-registered, waiting for identity verification"),
    "awaiting_activation": _l("Registered, waiting for activation"),
    "active": _l("Active"),
    "lapsed": _l("Lapsed (not activated in time)"),
    "expired": _l("Expired"),
    "deleted": _l("Deleted"),
}


def message(reason: str, details: Mapping[str, object] | None = None) -> str:
    """The translated message for ``reason``; never the exception's text."""
    text = str(REASONS.get(reason, GENERIC))
    try:
        return text % dict(details or {})
    except (KeyError, TypeError, ValueError):  # a placeholder the details do not fill
        return str(GENERIC)


def flash_refusal(exc: AccountError, labels: Mapping[str, str] | None = None) -> None:
    """Flash ``exc`` as the page shows it: each field's problem at that field (``labels``: the form's
    inputs and their labels), a whole-form reason at its input when the form has one."""
    labels = labels or {}
    fields = exc.details.get("fields")
    if isinstance(fields, Mapping) and fields:
        in_form_order = [n for n in labels if n in fields] + [n for n in fields if n not in labels]
        for name in in_form_order:
            problem = fields[name]
            text = str(FIELD_PROBLEMS.get(problem) or REASONS.get(problem) or GENERIC)
            if name in labels:
                flash(str(LABELLED) % {"label": labels[name], "problem": text}, f"error:{name}")
            else:
                flash(text, "error")
        return
    field = FIELD_OF.get(exc.reason)
    flash(message(exc.reason, exc.details), f"error:{field}" if field in labels else "error")


def flash_reason(reason: str, **details: object) -> None:
    """A reason that is about no input (a throttled sign-in, an ended console session)."""
    flash(message(reason, details), "error")


def flash_done(key: str, **values: object) -> None:
    flash(str(DONE[key]) % values, "success")


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


def helpers() -> dict:
    """For the lifecycle blueprints' templates."""
    return {
        "format_day": format_day,
        "format_moment": format_moment,
        "state_label": lambda state: str(STATES.get(str(state), state)),
    }
