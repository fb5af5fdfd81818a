"""Checks of a secret a person types (a password, a code) slowed down and then refused after
repeated failures (NIST SP 800-63B-4 §3.2.2; ASVS 5.0 V6.3.5), inside the verb that checks it.

Every check of one account's password counts under the same key as its sign-in
(the username), wherever the password is typed: guessing through the password
change is guessing the sign-in. A refusal is ``sign_in_throttled`` with the
seconds to wait; only a failed check counts, and only a passed one resets.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from idp import metrics
from idp.accounts.errors import AccountError
from idp.accounts.models import Account

from .context import Context

T = TypeVar("T")
SECOND_FACTOR = "second-factor:"


def guarded(ctx: Context, key: str, address: str, check: Callable[[], T]) -> T:
    """Run ``check`` (which raises ``AccountError`` when the secret is wrong) under the throttle of ``key``."""
    throttle = ctx.throttle
    if throttle is None:
        return check()
    verdict = throttle.check(key, address)
    if not verdict.allowed:
        metrics.throttled("second_factor" if key.startswith(SECOND_FACTOR) else "password")
        raise AccountError("sign_in_throttled", seconds=verdict.retry_after)
    try:
        result = check()
    except AccountError:
        throttle.failed(key, address)
        raise
    throttle.succeeded(key)
    return result


def password_key(account: Account) -> str:
    """The sign-in key of the account: its password counts here wherever it is typed."""
    return account.username or account.identifier


def code_key(account: Account) -> str:
    """Where wrong Ügyfélkapu+ codes (and the password typed beside them) count: apart from the
    sign-in, so codes cannot use up sign-ins."""
    return SECOND_FACTOR + account.identifier
