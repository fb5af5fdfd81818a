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

Set-based, so that a run over a million accounts stays within a minute (bench/README.md, "Scale"):
candidates are read in batches by keyset pagination along the index of the end they are due for
(``ix_account_state_*``, ordered by that end and the id), and each batch is decided with a fixed
number of statements however large it is.

Safe to run from several instances at once. A batch of reminders is claimed by inserting their
rows in one statement (unique per account, kind, end and days before; ``ON CONFLICT DO NOTHING
RETURNING`` says which this run inserted; a second run's insert of the same row waits for the
first's transaction). The mails go before that transaction commits, and the rows of those that
failed are deleted in it, so a failed send is retried by the next run. A batch of endings is
selected ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (rows another run holds are left to it), then
claimed by one conditional ``UPDATE ... RETURNING`` that repeats the selection's conditions, and
the states are written by ``states.transition`` (through ``erasure.erase``) in the same
transaction; an account another run ended meanwhile is not returned, and is skipped. Progress is
a line per batch; ``dry_run`` only lists what would change.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import Select, and_, delete, exists, false, insert, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session, load_only

from idp import audit, metrics
from idp.accounts import erasure
from idp.accounts.models import Account
from idp.accounts.policy import ValidityPolicy
from idp.accounts.records import ActivationCode, Reminder
from idp.accounts.states import AccountState
from idp.interactions import service as interactions

from .access import end_access_many
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

    def _batches(self, name: str, query: Select, along: InstrumentedAttribute, *, lock: bool = False) -> Iterator[list[Account]]:
        """Keyset pagination along ``along`` (the end the selection is due for), then the id: each batch
        continues the index range where the last one stopped, so no batch reads what an earlier one
        read. With ``lock`` (PostgreSQL), the rows are taken ``FOR UPDATE SKIP LOCKED``."""
        last: tuple | None = None
        seen = 0
        query = query.order_by(along, Account.id).limit(self.batch_size)
        if lock and not self.dry_run:
            query = query.with_for_update(skip_locked=True, of=Account)
        while True:
            page = query
            if last is not None:
                page = page.where(along >= last[0], or_(along > last[0], Account.id > last[1]))
            rows = list(self.session.scalars(page))
            if not rows:
                break
            last = (getattr(rows[-1], along.key), rows[-1].id)  # before the batch commits and the rows change
            seen += len(rows)
            yield rows
            self.progress(f"{name}: {seen} examined")

    def _validity_due(self):
        horizon = self.now + max(self.policy.reminders_before, default=timedelta(0))
        return (
            Account.state == S.ACTIVE,
            Account.valid_until.is_not(None),
            Account.valid_until > self.now,
            Account.valid_until <= horizon,
        )

    def _validity_unsent(self):
        """The reminder an account in the window is due for (the nearest threshold reached, as
        ``policy.reminder_due`` decides) is not sent yet: decided in the database, so that a run reads
        only the accounts it writes to, not the whole window's worth of ends (30 days of them)."""
        windows, lower = [], self.now
        for before in sorted(self.policy.reminders_before):
            upper = self.now + before
            sent = exists().where(
                Reminder.account_id == Account.id, Reminder.kind == VALIDITY,
                Reminder.ends_at == Account.valid_until, Reminder.days_before == before.days,
            )
            windows.append(and_(Account.valid_until > lower, Account.valid_until <= upper, ~sent))
            lower = upper
        return or_(*windows) if windows else false()

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

    #: What a reminder needs of the account: the end, and whom to write to.
    _REMINDER_COLUMNS = (
        Account.id, Account.identifier, Account.valid_until, Account.password_changed_at,
        Account.email, Account.locale, Account.family_name, Account.given_name,
    )

    def remind_validity(self) -> None:
        self.progress("validity reminders")
        query = (
            select(Account).options(load_only(*self._REMINDER_COLUMNS)).where(*self._validity_due(), self._validity_unsent())
        )
        for batch in self._batches("validity reminders", query, Account.valid_until):
            due = []
            for account in batch:
                days = self.policy.reminder_due(account.valid_until, self.now)
                if days is not None:
                    context = {"kind": "account", "valid_until": account.valid_until, "extend_url": self.links.validity_url}
                    due.append((account, account.valid_until, days, context))
            self._remind(VALIDITY, due)

    def remind_password(self) -> None:
        max_age = self.policy.password_max_age
        assert max_age is not None
        widest = max(self.policy.reminders_before, default=timedelta(0))
        query = select(Account).options(load_only(*self._REMINDER_COLUMNS)).where(
            Account.state == S.ACTIVE,
            Account.must_change_password.is_(False),
            Account.password_changed_at.is_not(None),
            Account.password_changed_at > self.now - max_age,
            Account.password_changed_at <= self.now - max_age + widest,
        )
        self.progress("password reminders")
        for batch in self._batches("password reminders", query, Account.password_changed_at):
            due = []
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
                    due.append((account, expires, days, context))
            self._remind(PASSWORD, due)

    def _remind(self, kind: str, due: list[tuple[Account, datetime, int, dict]]) -> None:
        """One batch: drop what earlier runs sent (one SELECT), claim the rest (one INSERT), send,
        forget the failed ones (one DELETE), audit, commit."""
        if not due:
            return
        sent = {
            tuple(row)
            for row in self.session.execute(
                select(Reminder.account_id, Reminder.ends_at, Reminder.days_before).where(
                    Reminder.account_id.in_([account.id for account, *_ in due]), Reminder.kind == kind
                )
            )
        }
        todo = [
            (account, ends_at, days, context, JobItem(
                "remind", account.identifier, f"{kind} ends {ends_at.date().isoformat()}: {days}-day reminder"))
            for account, ends_at, days, context in due
            if (account.id, ends_at, days) not in sent  # sent by an earlier run; the claim settles a run racing this one
        ]
        if not todo:
            return
        if self.dry_run:
            self.report.reminders.extend(item for *_, item in todo)
            return
        contacts = {account.id: contact_of(account) for account, *_ in todo}
        try:
            claimed = self._claim_reminders(
                [{"account_id": a.id, "kind": kind, "ends_at": ends_at, "days_before": days, "sent_at": self.now}
                 for a, ends_at, days, _context, _item in todo]
            )
            done, failed = [], []
            for account, ends_at, days, context, item in todo:
                if account.id not in claimed:
                    self.report.skipped += 1
                    continue
                item.mail_sent = send(self.notifier, Mail(contacts[account.id], "validity_reminder", context))
                (done if item.mail_sent else failed).append((account.id, ends_at, days, item))
            if failed:  # not recorded as sent: the next run tries again
                self.session.execute(
                    delete(Reminder)
                    .where(
                        Reminder.kind == kind,
                        tuple_(Reminder.account_id, Reminder.ends_at, Reminder.days_before).in_(
                            [(account_id, ends_at, days) for account_id, ends_at, days, _item in failed]
                        ),
                    )
                    .execution_options(synchronize_session=False)
                )
            for account_id, ends_at, days, _item in done:
                audit.record(
                    self.session, self.now, "reminder_sent", audit.SYSTEM_ACTOR, account_id,
                    kind=kind, ends_at=ends_at.isoformat(), days_before=days,
                )
            self.session.commit()
        except BaseException:
            self.session.rollback()
            raise
        self.report.failed.extend(item for *_, item in failed)
        self.report.reminders.extend(item for *_, item in done)

    def _claim_reminders(self, rows: list[dict]) -> set[int]:
        """Insert the reminders' rows unless they exist, in one statement; the accounts whose row this
        run inserted (one reminder per account in a batch). The rows are read back with RETURNING."""
        table = Reminder.__table__
        dialect = self.session.get_bind().dialect.name
        if dialect == "postgresql":
            stmt = pg_insert(table).values(rows).on_conflict_do_nothing(constraint="uq_reminder_once")
        elif dialect == "sqlite":
            stmt = sqlite_insert(table).values(rows).on_conflict_do_nothing()
        else:  # pragma: no cover - the two supported databases are above
            claimed = set()
            for row in rows:
                try:
                    with self.session.begin_nested():
                        self.session.execute(insert(table).values(**row))
                except IntegrityError:
                    continue
                claimed.add(row["account_id"])
            return claimed
        return set(self.session.scalars(stmt.returning(table.c.account_id)))

    # -- endings -------------------------------------------------------------------

    def lapse(self, state: AccountState) -> None:
        if state is S.AWAITING_ACTIVATION:
            conditions, along = self._awaiting_lapsed(), Account.state_changed_at
            mail = {"activation_days": self.policy.activation_window.days}
        else:
            conditions, along, mail = self._pending_lapsed(), Account.registered_at, {}
        name = f"lapse {state.value}"
        self.progress(name)
        for batch in self._batches(name, select(Account).where(*conditions), along, lock=True):
            self._end(batch, conditions, S.LAPSED, "registration_lapsed", "account_lapsed", lambda _a: mail,
                      self.report.lapsed)

    def expire(self) -> None:
        conditions = self._validity_ended()
        self.progress("expiry")
        for batch in self._batches("expiry", select(Account).where(*conditions), Account.valid_until, lock=True):
            self._end(batch, conditions, S.EXPIRED, "account_expired", "account_expired",
                      lambda a: {"valid_until": a.valid_until}, self.report.expired)

    def _end(
        self,
        batch: list[Account],
        conditions: tuple,
        to_state: AccountState,
        event: str,
        template: str,
        mail_context: Callable[[Account], dict],
        into: list[JobItem],
    ) -> None:
        """One batch: claim (one conditional UPDATE), end every access (``end_access_many``), erase
        each account through ``states.transition``, audit, commit; then the mails."""
        action = "lapse" if to_state is S.LAPSED else "expire"
        if self.dry_run:
            into.extend(JobItem(action, a.identifier, f"was {a.state.value}") for a in batch)
            return
        try:
            # The claim takes the rows while the conditions still hold; the states are written below.
            claimed = set(
                self.session.scalars(
                    update(Account)
                    .where(Account.id.in_([a.id for a in batch]), *conditions)
                    .values(updated_at=self.now)
                    .returning(Account.id)
                    .execution_options(synchronize_session=False)
                )
            )
            ending = [a for a in batch if a.id in claimed]
            self.report.skipped += len(batch) - len(ending)
            # Captured before the erasure, for the mails.
            items = [JobItem(action, a.identifier, f"was {a.state.value}") for a in ending]
            mails = [Mail(contact_of(a), template, mail_context(a)) for a in ending]
            notices = end_access_many(self.session, claimed, self.now, event)
            for account in ending:
                previous = account.state
                erasure.erase(account, self.now, to_state)  # ``account`` still holds the state it was selected in
                audit.record(self.session, self.now, event, audit.SYSTEM_ACTOR, account.id, previous_state=previous.value)
            self.session.commit()
        except BaseException:
            self.session.rollback()
            raise
        self.report.logout_queued += len(notices)  # delivered by the last step of this run
        for item, mail in zip(items, mails, strict=True):
            item.mail_sent = send(self.notifier, mail)
            into.append(item)
