"""Validity policy (PRODUCT.md rule 8): durations are settings, not code.

The seed's rule is the default: the account is valid five years from its
recording and can be extended. The rule in force since 2009 is configuration
alone: no account end date (``account_validity=None``), a password valid at
most two years, renewable by the citizen within 60 days of its expiry, and
beyond that reactivation in person at an office.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class ValidityPolicy:
    account_validity: timedelta | None = timedelta(days=5 * 365)
    password_max_age: timedelta | None = None
    password_renewal_grace: timedelta = timedelta(days=60)
    activation_window: timedelta = timedelta(days=5)
    reminders_before: tuple[timedelta, ...] = (timedelta(days=30), timedelta(days=7))
    #: Wrong activation codes tried before the code is revoked (rule 6).
    activation_attempts: int = 5
    #: How long an online pre-registration waits for identity verification at an office before it lapses.
    pending_window: timedelta = timedelta(days=30)
    #: How long an electronic registration document may be uploaded after the provider issued it.
    registration_document_lifetime: timedelta = timedelta(days=7)

    @classmethod
    def from_days(
        cls,
        account_validity_days: int,
        password_max_age_days: int,
        password_renewal_grace_days: int,
        activation_days: int,
        reminder_days: list[int],
        activation_attempts: int = 5,
        pending_registration_days: int = 30,
        registration_document_days: int = 7,
    ) -> ValidityPolicy:
        return cls(
            account_validity=timedelta(days=account_validity_days) if account_validity_days else None,
            password_max_age=timedelta(days=password_max_age_days) if password_max_age_days else None,
            password_renewal_grace=timedelta(days=password_renewal_grace_days),
            activation_window=timedelta(days=activation_days),
            reminders_before=tuple(timedelta(days=d) for d in sorted(reminder_days, reverse=True)),
            activation_attempts=activation_attempts,
            pending_window=timedelta(days=pending_registration_days),
            registration_document_lifetime=timedelta(days=registration_document_days),
        )

    def valid_until(self, recorded_at: datetime) -> datetime | None:
        """End of validity for an account recorded (or extended) at ``recorded_at``."""
        return recorded_at + self.account_validity if self.account_validity else None

    def password_expires_at(self, password_changed_at: datetime | None) -> datetime | None:
        if self.password_max_age is None or password_changed_at is None:
            return None
        return password_changed_at + self.password_max_age

    def activation_deadline(self, registered_at: datetime) -> datetime:
        return registered_at + self.activation_window

    def pending_deadline(self, registered_at: datetime) -> datetime:
        """Until when an online pre-registration waits for verification at an office."""
        return registered_at + self.pending_window

    @property
    def extendable(self) -> bool:
        """The seed's rule: the account has an end date the citizen can push back. Under the 2009
        rule the account has none, and renewing the password is what keeps it usable."""
        return self.account_validity is not None

    def reminder_due(self, ends_at: datetime, now: datetime) -> int | None:
        """The reminder to send now for an end at ``ends_at``: the nearest of ``reminders_before``
        already reached, in days; None when none is due or the end has passed. Sending only the
        nearest keeps a late run (or a jump with ``--as-of``) from sending several at once."""
        if ends_at <= now:
            return None
        reached = [before for before in self.reminders_before if ends_at - before <= now]
        return min(reached).days if reached else None
