"""Reason codes (gate, domain, protocol) to messages a citizen can read, in their language."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

#: What stops the citizen at the gate, and what to do about it.
GATE = {
    "not_activated": (
        _l("Your registration is not activated yet."),
        _l("Activate it with the code we sent you by email, within five days of registering."),
    ),
    "account_locked": (
        _l("Your account is suspended."),
        _l("Visit any government office (kormányablak) in person to reactivate it."),
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
        _l("Confirm with a code from your authenticator app to continue, or set up Ügyfélkapu+ first."),
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
}
