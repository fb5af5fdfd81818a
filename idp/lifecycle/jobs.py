"""The scheduled jobs (``idp jobs run``): reminders, lapse, expiry (PRODUCT.md rules 6 and 8).

* Reminders: before ``valid_until`` at each of ``policy.reminders_before``
  (seed rule), and under the 2009 rule before the password expires. Only the
  nearest reminder due is sent, each once.
* Lapse (rule 6): a registration awaiting activation whose latest activation code
  expired unused, and an online pre-registration not verified at an office
  within ``policy.pending_window`` (30 days by default), end LAPSED, erased.
* Interactions: sign-ins an agency started and nobody finished are removed
  once expired (and finished ones after their retention).
* Expiry (rule 8, "adatai törölődnek, és az ügyfélkaput megszüntetjük"): an account
  whose ``valid_until`` passed ends EXPIRED, erased; an anonymous record stays.

Safe to run from several instances at once: every item is claimed in its own
transaction before anything is sent. A reminder is claimed by inserting its row
(unique per account, kind, end and days before; ``ON CONFLICT DO NOTHING``
``RETURNING`` decides; a second run's insert waits for the first's transaction),
and the mail goes before that transaction commits, so a failed send is retried
by the next run. An ending is claimed by one conditional ``UPDATE`` of the
account's row that repeats the selection's conditions, then the state is
written by ``states.transition`` (through ``erasure.erase``) in the same
transaction: a run whose update waited on that row finds it ended and changes
no row, and skips the account. Work goes in batches by id, with a progress
line per batch; ``dry_run`` only lists what would change.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import Select, exists, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from idp import audit, metrics
from idp.accounts import erasure
from idp.accounts.models import Account
from idp.accounts.policy import ValidityPolicy
from idp.accounts.records import ActivationCode, Reminder
from idp.accounts.states import AccountState
from idp.interactions import service as interactions

from .access import end_access
from .context import Links, Mail, Notifier, contact_of, send

S = AccountState
VALIDITY = "validity"
PASSWORD = "password"
DEFAULT_BATCH = 200


class LogoutRetries(Protocol):
    def deliver_due(self, now: datetime) -> dict[str, int]: ...


@dataclass
class JobItem:
    action: str  # remind, lapse, expire
    identifier: str
    detail: str
    mail_sent: bool | None = None

    def line(self) -> str:
        mail = "" if self.mail_sent is None else ("  mail sent" if self.mail_sent else "  MAIL NOT SENT")
        return f"{self.action:7} {self.identifier}  {self.detail}{mail}"


@dataclass
class JobReport:
    as_of: datetime
    dry_run: bool
    reminders: list[JobItem] = field(default_factory=list)
    lapsed: list[JobItem] = field(default_factory=list)
    expired: list[JobItem] = field(default_factory=list)
    #: Items another run claimed first.
    skipped: int = 0
    #: Reminders whose mail failed: not recorded as sent, so the next run tries again.
    failed: list[JobItem] = field(default_factory=list)
    #: Interaction records (unfinished sign-ins) removed after their retention.
    interactions_purged: int = 0
    #: Back-channel logout notices this run's endings queued, and the outcomes of every attempt it made.
    logout_queued: int = 0
    logout: dict[str, int] = field(default_factory=dict)

    @property
    def items(self) -> list[JobItem]:
        return self.reminders + self.lapsed + self.expired

    def summary(self) -> dict[str, object]:
        return {
            "as_of": self.as_of.isoformat(),
            "dry_run": self.dry_run,
            "reminders": len(self.reminders),
            "lapsed": len(self.lapsed),
            "expired": len(self.expired),
            "skipped": self.skipped,
            "failed": len(self.failed),
            "logout_notices": dict(self.logout),
            "interactions_purged": self.interactions_purged,
        }


def run_jobs(
    session: Session,
    now: datetime,
    policy: ValidityPolicy,
    notifier: Notifier,
    *,
    links: Links,
    dry_run: bool = False,
    progress: Callable[[str], None] | None = None,
    batch_size: int = DEFAULT_BATCH,
    logout: LogoutRetries | None = None,
) -> JobReport:
    """Run every job as of ``now``; commits per item (nothing when ``dry_run``). Last, every
    back-channel logout notice due is (re)sent through ``logout``, this run's endings' included.
    Interaction records left unfinished are removed once past their retention."""
    job = _Run(session, now, policy, notifier, links, dry_run, progress or (lambda _line: None), batch_size)
    job.remind_validity()
    if policy.password_max_age is not None:
        job.remind_password()
    job.lapse(S.AWAITING_ACTIVATION)
    job.lapse(S.PENDING_VERIFICATION)
    job.expire()
    if dry_run:
        session.rollback()
        return job.report
    job.progress("interactions")
    job.report.interactions_purged = interactions.purge(session, now)
    session.commit()
    if logout is not None:
        job.progress("back-channel logout")
        job.report.logout = logout.deliver_due(now)
    metrics.job_run(job.report.summary(), time.time())
    return job.report


@dataclass
class _Run:
    session: Session
    now: datetime
    policy: ValidityPolicy
    notifier: Notifier
    links: Links
    dry_run: bool
    progress: Callable[[str], None]
    batch_size: int
    report: JobReport = field(init=False)

    def __post_init__(self) -> None:
        self.report = JobReport(self.now, self.dry_run)

    # -- selection -----------------------------------------------------------------

    def _batches(self, name: str, query: Select) -> Iterator[list[Account]]:
        last, seen = 0, 0
        while True:
            rows = list(self.session.scalars(query.where(Account.id > last).order_by(Account.id).limit(self.batch_size)))
            if not rows:
                break
            yield rows
            last = rows[-1].id
            seen += len(rows)
            self.progress(f"{name}: {seen} examined")

    def _validity_due(self):
        horizon = self.now + max(self.policy.reminders_before, default=timedelta(0))
        return (
            Account.state == S.ACTIVE,
            Account.valid_until.is_not(None),
            Account.valid_until > self.now,
            Account.valid_until <= horizon,
        )

    def _awaiting_lapsed(self):
        live_code = exists().where(ActivationCode.account_id == Account.id, ActivationCode.expires_at > self.now)
        return (
            Account.state == S.AWAITING_ACTIVATION,
            Account.state_changed_at <= self.now - self.policy.activation_window,
            ~live_code,
        )

    def _pending_lapsed(self):
        return (Account.state == S.PENDING_VERIFICATION, Account.registered_at <= self.now - self.policy.pending_window)

    def _validity_ended(self):
        return (Account.state == S.ACTIVE, Account.valid_until.is_not(None), Account.valid_until <= self.now)

    # -- reminders -----------------------------------------------------------------

    def remind_validity(self) -> None:
        self.progress("validity reminders")
        for batch in self._batches("validity reminders", select(Account).where(*self._validity_due())):
            for account in batch:
                days = self.policy.reminder_due(account.valid_until, self.now)
                if days is not None:
                    context = {"kind": "account", "valid_until": account.valid_until, "extend_url": self.links.validity_url}
                    self._remind(account, VALIDITY, account.valid_until, days, context)

    def remind_password(self) -> None:
        max_age = self.policy.password_max_age
        assert max_age is not None
        widest = max(self.policy.reminders_before, default=timedelta(0))
        query = select(Account).where(
            Account.state == S.ACTIVE,
            Account.must_change_password.is_(False),
            Account.password_changed_at.is_not(None),
            Account.password_changed_at > self.now - max_age,
            Account.password_changed_at <= self.now - max_age + widest,
        )
        self.progress("password reminders")
        for batch in self._batches("password reminders", query):
            for account in batch:
                expires = self.policy.password_expires_at(account.password_changed_at)
                days = self.policy.reminder_due(expires, self.now) if expires else None
                if days is not None:
                    context = {
                        "kind": "password",
                        "valid_until": expires,
                        "extend_url": self.links.password_url,
                        "grace_days": self.policy.password_renewal_grace.days,
                    }
                    self._remind(account, PASSWORD, expires, days, context)

    def _remind(self, account: Account, kind: str, ends_at: datetime, days: int, context: dict) -> None:
        item = JobItem("remind", account.identifier, f"{kind} ends {ends_at.date().isoformat()}: {days}-day reminder")
        already = self.session.scalar(
            select(Reminder.id).where(
                Reminder.account_id == account.id, Reminder.kind == kind,
                Reminder.ends_at == ends_at, Reminder.days_before == days,
            )
        )
        if already is not None:  # sent by an earlier run; the claim below settles a run racing this one
            return
        if self.dry_run:
            self.report.reminders.append(item)
            return
        contact = contact_of(account)
        try:
            if not self._claim_reminder(account.id, kind, ends_at, days):
                self.session.rollback()
                self.report.skipped += 1
                return
            item.mail_sent = send(self.notifier, Mail(contact, "validity_reminder", context))
            if not item.mail_sent:
                self.session.rollback()  # not recorded as sent: the next run tries again
                self.report.failed.append(item)
                return
            audit.record(
                self.session, self.now, "reminder_sent", audit.SYSTEM_ACTOR, account.id,
                kind=kind, ends_at=ends_at.isoformat(), days_before=days,
            )
            self.session.commit()
        except BaseException:
            self.session.rollback()
            raise
        self.report.reminders.append(item)

    def _claim_reminder(self, account_id: int, kind: str, ends_at: datetime, days: int) -> bool:
        """Insert the reminder's row unless it exists; True when this run inserted it. The row
        is read back with RETURNING: psycopg reports no row count for an INSERT that returns."""
        values = {"account_id": account_id, "kind": kind, "ends_at": ends_at, "days_before": days, "sent_at": self.now}
        dialect = self.session.get_bind().dialect.name
        if dialect == "postgresql":
            stmt = pg_insert(Reminder).values(**values).on_conflict_do_nothing(constraint="uq_reminder_once")
        elif dialect == "sqlite":
            stmt = sqlite_insert(Reminder).values(**values).on_conflict_do_nothing()
        else:  # pragma: no cover - the two supported databases are above
            try:
                self.session.execute(insert(Reminder).values(**values))
            except IntegrityError:
                return False
            return True
        return self.session.execute(stmt.returning(Reminder.id)).first() is not None

    # -- endings -------------------------------------------------------------------

    def lapse(self, state: AccountState) -> None:
        conditions = self._awaiting_lapsed() if state is S.AWAITING_ACTIVATION else self._pending_lapsed()
        name = f"lapse {state.value}"
        self.progress(name)
        for batch in self._batches(name, select(Account).where(*conditions)):
            for account in batch:
                mail = {"activation_days": self.policy.activation_window.days} if state is S.AWAITING_ACTIVATION else {}
                self._end(account, conditions, S.LAPSED, "registration_lapsed", "account_lapsed", mail, self.report.lapsed)

    def expire(self) -> None:
        conditions = self._validity_ended()
        self.progress("expiry")
        for batch in self._batches("expiry", select(Account).where(*conditions)):
            for account in batch:
                mail = {"valid_until": account.valid_until}
                self._end(account, conditions, S.EXPIRED, "account_expired", "account_expired", mail, self.report.expired)

    def _end(
        self,
        account: Account,
        conditions: tuple,
        to_state: AccountState,
        event: str,
        template: str,
        mail_context: dict,
        into: list[JobItem],
    ) -> None:
        previous = account.state
        item = JobItem("lapse" if to_state is S.LAPSED else "expire", account.identifier, f"was {previous.value}")
        if self.dry_run:
            into.append(item)
            return
        contact = contact_of(account)  # before the erasure, for the mail
        try:
            # The claim takes the row while the conditions still hold; the state is written below.
            claimed = self.session.execute(
                update(Account)
                .where(Account.id == account.id, *conditions)
                .values(updated_at=self.now)
                .execution_options(synchronize_session=False)
            )
            if claimed.rowcount != 1:
                self.session.rollback()
                self.report.skipped += 1
                return
            ended = end_access(self.session, account.id, self.now, event)
            erasure.erase(account, self.now, to_state)  # ``account`` still holds the state it was selected in
            audit.record(self.session, self.now, event, audit.SYSTEM_ACTOR, account.id, previous_state=previous.value)
            self.session.commit()
        except BaseException:
            self.session.rollback()
            raise
        self.report.logout_queued += len(ended.notices)  # delivered by the last step of this run
        item.mail_sent = send(self.notifier, Mail(contact, template, mail_context))
        into.append(item)
