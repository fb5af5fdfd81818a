"""Extending the account's validity, and when a password must be renewed in person (PRODUCT.md rule 8).

"alapesetben a rögzítéstől számított 5 év": under the seed's rule the account is
valid a number of years (``policy.account_validity``) and "the citizen can
extend it before it runs out": an extension starts a full period from now.
An account whose validity has ended is not extended; the scheduled job ends it.

Under the rule in force since 2009 the account has no end date; what expires is
the password, and renewing it is the password change (``service.change_password``),
so an extension does not apply there. "A password expired for fewer than 60 days
can be renewed by the citizen after signing in, and beyond that the citizen must
reactivate in person at an office": ``is_reactivation_due`` is that one rule,
for the gate, the password change, reactivation at an office and the office page.
"""

from __future__ import annotations

from datetime import datetime, timedelta

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


def password_expired_for(account: Account, now: datetime, policy: ValidityPolicy) -> timedelta | None:
    """How long ago the citizen's own password expired; None while it has not, when the policy
    gives passwords no maximum age, and while the password is still an initial one (rule 7 stops
    the citizen first; reactivation gives one)."""
    if account.must_change_password:
        return None
    expires = policy.password_expires_at(account.password_changed_at)
    if expires is None or expires > now:
        return None
    return now - expires


def is_password_expired(account: Account, now: datetime, policy: ValidityPolicy) -> bool:
    return password_expired_for(account, now, policy) is not None


def is_reactivation_due(account: Account, now: datetime, policy: ValidityPolicy) -> bool:
    """The 2009 rule: an ACTIVE account whose own password expired ``policy.password_renewal_grace``
    ago or longer is reactivated in person at an office; within the grace the citizen renews it."""
    expired_for = password_expired_for(account, now, policy)
    return (
        account.state is AccountState.ACTIVE
        and expired_for is not None
        and expired_for >= policy.password_renewal_grace
    )
