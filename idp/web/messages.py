"""The one catalogue: every reason code (gate, domain, protocol) and confirmation as a message a
citizen or an officer can read, in their language (STYLE.md habit 8, "one vocabulary").

A reason code is the message id here, the audit reason and the test id. The gate's
reasons (``GATE``) have a title and what to do about it, shown on the page that
fixes them; as a refusal on a form (``message``) they read as the two together.
A refusal about one input names it in ``FIELD_OF``; per-field problems come from
the service in ``details["fields"]`` and read as ``FIELD_PROBLEMS``. Pages show
them through ``idp.web.feedback``.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import lazy_gettext as _l

#: What stops the citizen at the gate, and what to do about it.
GATE = {
    "not_activated": (
        _l("Your registration is not activated yet."),
        _l("Activate it with the code we sent you by email, within five days of registering."),
    ),
    "account_ended": (
        _l("This account no longer exists."),
        _l("You can register again at any government office (kormányablak)."),
    ),
    "initial_password": (
        _l("You must change your initial password."),
        _l("Choose your own password before any agency can sign you in."),
    ),
    "validity_ended": (
        _l("The validity of your account has run out."),
        _l("Visit a government office in person to renew it."),
    ),
    "password_expired": (
        _l("Your password has expired."),
        _l("Choose a new password to continue."),
    ),
    "reactivation_required": (
        _l("Your password expired too long ago."),
        _l("Visit a government office in person to reactivate your account."),
    ),
    "acr_insufficient": (
        _l("This agency requires a second factor (Ügyfélkapu+)."),
        _l("Confirm with an Ügyfélkapu+ code to continue. Without Ügyfélkapu+, or if this agency does not "
           "accept codes by email, set up an authenticator app first."),
    ),
}

#: A field's problem, shown after the field's label ("Family name: this field is required.").
FIELD_PROBLEMS = {
    "field_required": _l("this field is required."),
    "field_too_long": _l("this is too long."),
    "name_too_long": _l("this is too long: use at most 100 characters."),
    "street_too_long": _l("this is too long: use at most 200 characters."),
    "name_characters": _l("use letters, digits, spaces, hyphens, apostrophes and full stops only (no markup or control characters)."),
    "place_characters": _l("use letters, digits, spaces and . , - ' ( ) / only (no markup or control characters)."),
    "street_characters": _l("remove the characters < > \" \\ { } [ ] ` and any control characters."),
    "field_invalid": _l("write it with letters, without special control characters."),
    "username_invalid": _l("use 3 to 64 letters or digits; dots, hyphens and underscores may stand between them."),
    "email_invalid": _l("this is not an email address that can receive mail."),
    "birth_date_invalid": _l("enter a real date of birth, not in the future (year-month-day)."),
    "postal_code_invalid": _l("this is not a valid postal code (in Hungary four digits)."),
    "country_invalid": _l("use the two-letter country code, for example HU."),
    "locale_invalid": _l("choose Hungarian or English."),
    "date_invalid": _l("enter a date (year-month-day)."),
}

#: Refusals: about the whole form, or about one input named in FIELD_OF.
REASONS = {
    "sign_in_failed": _l("The username or password is not correct."),
    "password_wrong": _l("The current password is not correct."),
    "password_too_short": _l("The password must be at least %(min)s characters long."),
    "password_too_long": _l("The password is too long."),
    "password_common": _l("This password is too common or has appeared in data breaches. Choose another."),
    "password_contains_personal_data": _l("The password must not contain your username or name."),
    "password_guessable": _l(
        "This password is easy to guess (common words, names, dates or keyboard patterns). "
        "Add a few more unrelated words."
    ),
    "password_unchanged": _l("The new password must differ from the current one."),
    "form_invalid": _l("Please fill in every field."),
    "second_factor_failed": _l("The code is not correct, or it has already been used."),
    "second_factor_not_enrolled": _l("Ügyfélkapu+ is not set up for this account."),
    "second_factor_already_enrolled": _l("Ügyfélkapu+ is already set up for this account."),
    "second_factor_unreadable": _l(
        "Your authenticator can no longer be checked. Sign in with one of your recovery codes, "
        "then set up Ügyfélkapu+ again."
    ),
    "second_factor_nothing_pending": _l("No new authenticator app is waiting to be confirmed."),
    "passkey_failed": _l(
        "The passkey could not be used: it is not one of this account's passkeys for this site, or the browser "
        "did not confirm it. Try again, or use a code."
    ),
    "passkey_expired": _l("That took too long. Please start again."),
    "passkey_name_invalid": _l("Give the passkey a name of at most 64 letters, digits or spaces, without < or >."),
    "passkey_not_found": _l("That passkey is not one of yours, or it has already been removed."),
    "passkey_limit": _l("You have as many passkeys as an account can hold. Remove one you no longer use first."),
    "email_missing": _l("Your account has no email address for codes. The office that registered you can record one."),
    "email_code_missing": _l("No code is waiting for you. Ask for a new code."),
    "email_code_expired": _l("The code has expired: it is valid for 10 minutes. Ask for a new code."),
    "email_code_exhausted": _l("The code was typed wrong too many times and no longer works. Ask for a new code."),
    "email_code_too_soon": _l("A code was sent less than a minute ago. Please wait %(seconds)s seconds before asking again."),
    "email_code_limit": _l("Too many codes were sent in the last hour. Please try again later."),
    "email_code_not_sent": _l("The code could not be sent by email. Please try again a little later."),
    "consent_not_found": _l("There is nothing to withdraw: that agency has no data you allowed."),
    "offline_access_not_found": _l("There is nothing to withdraw: that agency cannot read your data while you are not signed in."),
    "session_not_found": _l("That sign-in has already ended."),
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
    "registration_document_modified": _l(
        "The registration document was changed after this service issued it, so it cannot be accepted. "
        "Upload the downloaded file unchanged, or fill in your data again for a new document."
    ),
    "registration_document_expired": _l(
        "This registration document was issued too long ago. Please fill in your data again, then sign and "
        "upload the new document."
    ),
    "signature_invalid": _l(
        "The signature is not valid for this document. Sign exactly the downloaded file, as a detached "
        "signature (.p7s)."
    ),
    "signing_time_implausible": _l("The signing time stated in the signature is not plausible."),
    "signature_untrusted": _l(
        "The signing certificate was not issued by a certification authority this service trusts."
    ),
    "certificate_expired": _l(
        "The signing certificate is no longer valid. A signature made before it expired counts only with a "
        "timestamp from a time-stamping authority this service trusts."
    ),
    "certificate_not_yet_valid": _l("The signing certificate is not yet valid."),
    "certificate_revoked": _l("The signing certificate has been revoked by its certification authority."),
    "revocation_unknown": _l(
        "Whether the signing certificate has been revoked could not be checked, so it cannot be accepted now. "
        "Please try again later."
    ),
    "timestamp_untrusted": _l(
        "The signing certificate is no longer valid, and the timestamp on the signature is not from a "
        "time-stamping authority this service trusts."
    ),
    "timestamp_invalid": _l(
        "The signing certificate is no longer valid, and the timestamp on the signature does not belong to "
        "this signature of this document."
    ),
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
    "nothing_changed": _l("Nothing was changed: the data are the same as before."),
    "reactivation_not_needed": _l("This account does not need reactivation."),
    "sign_in_throttled": _l("Too many unsuccessful attempts. Please wait %(seconds)s seconds and try again."),
    "office_session_ended": _l("Your office console session has ended. Please sign in again."),
    "recovery_link_invalid": _l(
        "This link no longer works: it was used already, a newer one was sent, or its time ran out. Ask for a new one below."
    ),
    "recovery_factor_owed": _l("First type your Ügyfélkapu+ code."),
}

GENERIC = _l("The request could not be completed. Please check the data and try again.")
LABELLED = _l("%(label)s: %(problem)s")

#: The input a whole-form reason is about (when the form has that input).
FIELD_OF = {
    "password_wrong": "current_password",
    "password_too_short": "new_password",
    "password_too_long": "new_password",
    "password_common": "new_password",
    "password_guessable": "new_password",
    "password_contains_personal_data": "new_password",
    "password_unchanged": "new_password",
    "second_factor_failed": "code",
    "second_factor_unreadable": "code",
    "passkey_name_invalid": "name",
    "email_code_missing": "code",
    "email_code_expired": "code",
    "email_code_exhausted": "code",
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
    "registration_document_modified": "document",
    "registration_document_expired": "document",
    "signature_invalid": "signature",
    "signing_time_implausible": "signature",
    "signature_untrusted": "signature",
    "certificate_expired": "signature",
    "certificate_not_yet_valid": "signature",
    "certificate_revoked": "signature",
    "revocation_unknown": "signature",
    "timestamp_untrusted": "signature",
    "timestamp_invalid": "signature",
    "certificate_not_for_signing": "signature",
    "signer_name_mismatch": "signature",
    "activation_code_wrong": "code",
    "activation_code_expired": "code",
    "activation_code_exhausted": "code",
    "account_not_found": "identifier",
}

#: Protocol errors shown on a page when there is no validated place to send the citizen back to.
PROTOCOL = {
    "invalid_client": _l("The agency's application is not registered with this provider."),
    "invalid_request": _l("The agency's sign-in request is not valid."),
    "unsupported_response_type": _l("The agency asked for a sign-in method this provider does not support."),
    "invalid_scope": _l("The agency asked for data it may not receive."),
}

GENERIC_PROTOCOL = _l("The agency's sign-in request cannot be processed.")

#: Confirmations after a form.
DONE = {
    "password_changed": _l("Your password has been changed."),
    "password_recovered": _l(
        "Your new password is set. You have been signed out everywhere: sign in with the new password."
    ),
    "second_factor_enrolled": _l("Ügyfélkapu+ is on: from now on you sign in with a code from your authenticator app."),
    "second_factor_removed": _l("Ügyfélkapu+ is off."),
    "second_factor_email_on": _l("Ügyfélkapu+ is on: from now on you sign in with a code we send you by email."),
    "authenticator_replaced": _l("Your new authenticator app is set up; codes from the previous one no longer work."),
    "replacement_started": _l(
        "Add the new key to your authenticator app and type a code from it. Until then, Ügyfélkapu+ works as before."
    ),
    "replacement_cancelled": _l("The new authenticator app was not set up; nothing has changed."),
    "email_code_sent": _l("We have sent you a new code by email."),
    "recovery_codes_renewed": _l("Your new recovery codes are below; the previous ones no longer work."),
    "passkey_added": _l("Your passkey %(name)s is added: from now on it confirms your sign-in in place of a code."),
    "passkey_removed": _l("Your passkey %(name)s is removed: it no longer signs you in."),
    "session_ended": _l("That device has been signed out. Agencies it was signed in to have been told."),
    "consent_withdrawn": _l("You withdrew what you allowed %(agency)s. It will ask you again the next time you sign in there."),
    "offline_access_withdrawn": _l("%(agency)s can no longer read your data while you are not signed in. It still receives what you allowed when you sign in there."),
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
    if reason in GATE and reason not in REASONS:
        title, todo = GATE[reason]
        return f"{title} {todo}"
    text = str(REASONS.get(reason, GENERIC))
    try:
        return text % dict(details or {})
    except (KeyError, TypeError, ValueError):  # a placeholder the details do not fill
        return str(GENERIC)
