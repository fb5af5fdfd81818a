"""Extending the account's validity (PRODUCT.md rule 8).

"alapesetben a rögzítéstől számított 5 év": under the seed's rule the account is
valid a number of years (``policy.account_validity``) and "the citizen can
extend it before it runs out": an extension starts a full period from now.
An account whose validity has ended is not extended; the scheduled job ends it.

Under the rule in force since 2009 the account has no end date; what expires is
the password, and renewing it is the password change (``service.change_password``),
so an extension does not apply there.
"""

from __future__ import annotations

from datetime import datetime

from .errors import AccountError
from .models import Account
from .policy import ValidityPolicy
from .states import AccountState

REASONS = ("extension_not_applicable", "validity_ended", "not_active", "initial_password")


def check_extendable(account: Account, now: datetime, policy: ValidityPolicy) -> None:
    if not policy.extendable or account.valid_until is None:
        raise AccountError("extension_not_applicable")
    if account.state is not AccountState.ACTIVE:
        raise AccountError("not_active")
    if account.valid_until <= now:
        raise AccountError("validity_ended")
    if account.must_change_password:
        raise AccountError("initial_password")


def can_extend(account: Account, now: datetime, policy: ValidityPolicy) -> bool:
    try:
        check_extendable(account, now, policy)
    except AccountError:
        return False
    return True


def extend_validity(account: Account, now: datetime, policy: ValidityPolicy) -> tuple[datetime, datetime]:
    """Push the end of validity to a full period from now; returns (before, after)."""
    check_extendable(account, now, policy)
    before = account.valid_until
    after = policy.valid_until(now)
    account.valid_until = after
    account.updated_at = now
    return before, after
