"""Reason codes (gate, domain, protocol) to messages a citizen can read, in their language."""

from __future__ import annotations

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

#: Domain reasons shown on forms.
FORM = {
    "sign_in_failed": _l("The username or password is not correct."),
    "sign_in_throttled": _l("Too many unsuccessful attempts. Please wait %(seconds)s seconds and try again."),
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
    "reactivation_required": GATE["reactivation_required"][1],
    "second_factor_failed": _l("The code is not correct, or it has already been used."),
    "second_factor_not_enrolled": _l("Ügyfélkapu+ is not set up for this account."),
    "second_factor_already_enrolled": _l("Ügyfélkapu+ is already set up for this account."),
    "second_factor_unreadable": _l(
        "Your authenticator can no longer be checked. Sign in with one of your recovery codes, "
        "then set up Ügyfélkapu+ again."
    ),
    "second_factor_nothing_pending": _l("No new authenticator app is waiting to be confirmed."),
    "email_missing": _l("Your account has no email address for codes. The office that registered you can record one."),
    "email_code_missing": _l("No code is waiting for you. Ask for a new code."),
    "email_code_expired": _l("The code has expired: it is valid for 10 minutes. Ask for a new code."),
    "email_code_exhausted": _l("The code was typed wrong too many times and no longer works. Ask for a new code."),
    "email_code_too_soon": _l("A code was sent less than a minute ago. Please wait %(seconds)s seconds before asking again."),
    "email_code_limit": _l("Too many codes were sent in the last hour. Please try again later."),
    "email_code_not_sent": _l("The code could not be sent by email. Please try again a little later."),
    "consent_not_found": _l("There is nothing to withdraw: that agency has no data you allowed."),
    "session_not_found": _l("That sign-in has already ended."),
}

#: The field a form reason is about: the page ties the message to that input (WCAG 3.3.1).
FORM_FIELD = {
    "password_wrong": "current_password",
    "password_too_short": "new_password",
    "password_too_long": "new_password",
    "password_common": "new_password",
    "password_guessable": "new_password",
    "password_contains_personal_data": "new_password",
    "password_unchanged": "new_password",
    "second_factor_failed": "code",
    "second_factor_unreadable": "code",
    "email_code_missing": "code",
    "email_code_expired": "code",
    "email_code_exhausted": "code",
}

#: Protocol errors shown on a page when there is no validated place to send the citizen back to.
PROTOCOL = {
    "invalid_client": _l("The agency's application is not registered with this provider."),
    "invalid_request": _l("The agency's sign-in request is not valid."),
    "unsupported_response_type": _l("The agency asked for a sign-in method this provider does not support."),
    "invalid_scope": _l("The agency asked for data it may not receive."),
}

GENERIC_PROTOCOL = _l("The agency's sign-in request cannot be processed.")

#: Confirmations after a successful form.
FORM_DONE = {
    "password_changed": _l("Your password has been changed."),
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
    "session_ended": _l("That device has been signed out. Agencies it was signed in to have been told."),
    "consent_withdrawn": _l("You withdrew what you allowed %(agency)s. It will ask you again the next time you sign in there."),
}
