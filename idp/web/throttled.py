"""A throttled check of a password or code (``sign_in_throttled``) answers 429 with ``Retry-After``
(RFC 6585 §4) and the readable message, instead of a redirect back to the form: clients and
monitoring see the refusal for what it is. The answer depends on the typed username only through
the throttle's own count, which runs the same for unknown and known usernames (no enumeration)."""

from __future__ import annotations

from flask import Response, make_response, render_template

from idp.accounts.errors import AccountError

from . import messages


def answer(exc: AccountError, back: str) -> Response | None:
    """The 429 page for a throttled refusal (a link ``back`` to the form), or None for any other."""
    if exc.reason != "sign_in_throttled":
        return None
    seconds = max(int(exc.details.get("seconds") or 1), 1)
    message = messages.message(exc.reason, exc.details)
    response = make_response(render_template("throttled.html", message=message, back=back), 429)
    response.headers["Retry-After"] = str(seconds)
    return response
