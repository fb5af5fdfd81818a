"""The scheduled jobs (PRODUCT.md rules 6 and 8): reminders before the end, each once; lapse of
registrations not activated (or not verified) in time; expiry of accounts not extended, with
their personal data erased. Safe when several instances run them at once.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from idp.accounts.erasure import PERSONAL_COLUMNS
from idp.accounts.models import Account
from idp.accounts.records import Reminder
from idp.accounts.states import AccountState
from idp.audit import events
from idp.lifecycle import registration
from idp.lifecycle.context import Links
from idp.lifecycle.jobs import run_jobs
from idp.sessions import service as sessions
from idp.sessions.models import SsoSession

from ..conftest import make_settings
from ..support.factories import make_account
from ..support.lifecycle import RecordingNotifier, activated, make_officer, register_in_person, registration_data

S = AccountState
RULE_2009 = {"account_validity_days": 0, "password_max_age_days": 730, "password_renewal_grace_days": 60}


@pytest.fixture
def policy_settings():
    return {}


@pytest.fixture
def settings(database_url, keys_dir, policy_settings):
    return make_settings(database_url, keys_dir, policy=policy_settings)


def run(rt, db, notifier, now=None, **options):
    return run_jobs(db.session, now or rt.now(), rt.policy, notifier, links=Links.under(rt.issuer), **options)


def state_of(db, identifier: str) -> AccountState:
    return db.session.scalar(select(Account.state).where(Account.identifier == identifier))


def ids(items) -> set[str]:
    return {i.identifier for i in items}


def test_jobs_as_of_lapse_remind_once_and_terminate_exactly_the_right_accounts(rt, db, ctx, mail):
    start = rt.now()
    login = make_officer(rt)
    pending_old = registration.pre_register(ctx, registration_data(), rt.now()).identifier
    awaiting_old = register_in_person(rt, ctx, login).identifier  # its code expires at start + 5 days
    reminded = make_account(rt, valid_for=timedelta(days=40)).identifier
    far = make_account(rt, valid_for=timedelta(days=120)).identifier
    ending = make_account(rt, valid_for=timedelta(days=25)).identifier
    already_ended = make_account(rt, state=S.EXPIRED, valid_for=timedelta(days=1)).identifier
    rt.clock.advance(days=20)
    pending_new = registration.pre_register(ctx, registration_data(), rt.now()).identifier
    rt.clock.advance(days=8)
    awaiting_new = register_in_person(rt, ctx, login).identifier  # code until start + 33 days
    rt.clock.set(start)
    mail.sent.clear()

    report = run(rt, db, mail, now=start + timedelta(days=31))
    assert ids(report.lapsed) == {pending_old, awaiting_old}
    assert ids(report.expired) == {ending}
    assert ids(report.reminders) == {reminded}
    assert [s.context["valid_until"] for s in mail.of("validity_reminder")] == [start + timedelta(days=40)]
    assert {s.template for s in mail.sent} == {"validity_reminder", "account_lapsed", "account_expired"}
    for identifier, state in [(pending_old, S.LAPSED), (awaiting_old, S.LAPSED), (ending, S.EXPIRED),
                              (pending_new, S.PENDING_VERIFICATION), (awaiting_new, S.AWAITING_ACTIVATION),
                              (reminded, S.ACTIVE), (far, S.ACTIVE), (already_ended, S.EXPIRED)]:
        assert state_of(db, identifier) == state, identifier

    again = run(rt, db, mail, now=start + timedelta(days=31, hours=12))
    assert again.items == [] and again.skipped == 0 and len(mail.of("validity_reminder")) == 1

    later = run(rt, db, mail, now=start + timedelta(days=34))
    assert ids(later.reminders) == {reminded}  # now the 7-day reminder
    assert ids(later.lapsed) == {awaiting_new}
    assert [r.days_before for r in db.session.scalars(select(Reminder).order_by(Reminder.days_before))] == [7, 30]

    last = run(rt, db, mail, now=start + timedelta(days=51))
    assert ids(last.expired) == {reminded} and ids(last.lapsed) == {pending_new}
    assert state_of(db, far) is S.ACTIVE


def test_ended_accounts_keep_only_the_anonymous_record_and_lose_every_session(rt, db, mail):
    account = make_account(rt, valid_for=timedelta(days=1), registering_office_id=None)
    sessions.start(db.session, account, rt.now(), ["pwd"], "pwd", "192.0.2.1", "Firefox")
    db.session.commit()
    identifier, registered_at, email = account.identifier, account.registered_at, account.email
    report = run(rt, db, mail, now=rt.now() + timedelta(days=2))
    assert ids(report.expired) == {identifier}
    row = db.session.scalar(select(Account).where(Account.identifier == identifier))
    assert all(getattr(row, c) is None for c in PERSONAL_COLUMNS)
    assert (row.state, row.registered_at, row.ended_at) == (S.EXPIRED, registered_at, rt.now() + timedelta(days=2))
    [sso] = db.session.scalars(select(SsoSession).where(SsoSession.account_id == row.id))
    assert sso.ended_at is not None and sso.ip_address == "" and sso.user_agent == ""
    [goodbye] = mail.of("account_expired")
    assert goodbye.to == email and goodbye.context["valid_until"] == rt.now() + timedelta(days=1)
    [event] = events(db.session, account_id=row.id, event="account_expired")
    assert (event.actor_kind, event.details) == ("system", {"previous_state": "active"})


def test_a_dry_run_lists_what_would_change_and_changes_nothing(rt, db, ctx, mail):
    awaiting = register_in_person(rt, ctx).identifier
    reminded = make_account(rt, valid_for=timedelta(days=20)).identifier
    ending = make_account(rt, valid_for=timedelta(days=2)).identifier
    mail.sent.clear()
    as_of = rt.now() + timedelta(days=6)
    dry = run(rt, db, mail, now=as_of, dry_run=True)
    assert (ids(dry.lapsed), ids(dry.reminders), ids(dry.expired)) == ({awaiting}, {reminded}, {ending})
    assert mail.sent == [] and db.session.scalar(select(func.count()).select_from(Reminder)) == 0
    assert state_of(db, awaiting) is S.AWAITING_ACTIVATION and state_of(db, ending) is S.ACTIVE
    real = run(rt, db, mail, now=as_of)
    assert [(i.action, i.identifier) for i in real.items] == [(i.action, i.identifier) for i in dry.items]


def test_a_new_code_from_an_office_postpones_the_lapse(rt, db, ctx, mail):
    login = make_officer(rt)
    sheet = register_in_person(rt, ctx, login)
    rt.clock.advance(days=4)
    registration.issue_activation_code(ctx, login.officer, sheet.identifier, rt.now())
    assert run(rt, db, mail, now=rt.now() + timedelta(days=2)).lapsed == []
    assert ids(run(rt, db, mail, now=rt.now() + timedelta(days=5)).lapsed) == {sheet.identifier}


def test_a_reminder_whose_mail_failed_is_sent_by_the_next_run(rt, db, mail):
    identifier = make_account(rt, valid_for=timedelta(days=10)).identifier
    broken = RecordingNotifier(fail=True)
    report = run(rt, db, broken)
    assert ids(report.failed) == {identifier} and report.reminders == []
    assert db.session.scalar(select(func.count()).select_from(Reminder)) == 0
    assert ids(run(rt, db, mail).reminders) == {identifier}
    assert ids(run(rt, db, mail).reminders) == set()


def test_progress_is_reported_per_batch(rt, db, mail):
    for _ in range(5):
        make_account(rt, valid_for=timedelta(days=3))
    lines: list[str] = []
    report = run(rt, db, mail, progress=lines.append, batch_size=2)
    assert len(report.reminders) == 5
    assert [line for line in lines if line.startswith("validity reminders: ")] == [
        "validity reminders: 2 examined", "validity reminders: 4 examined", "validity reminders: 5 examined"]


def test_two_job_runs_at_once_send_each_reminder_once(rt, db, ctx, mail):
    n = 12
    lapsing = {register_in_person(rt, ctx).identifier for _ in range(n // 3)}
    rt.clock.advance(days=6)
    reminded = {make_account(rt, valid_for=timedelta(days=5)).identifier for _ in range(n)}
    ending = {make_account(rt, valid_for=timedelta(hours=1)).identifier for _ in range(n)}
    mail.sent.clear()
    engine, policy, links, as_of = db.engine, rt.policy, Links.under(rt.issuer), rt.now() + timedelta(hours=2)
    barrier = threading.Barrier(2)
    reports, errors = [], []

    def job():
        try:
            with Session(engine) as session:
                barrier.wait()
                reports.append(run_jobs(session, as_of, policy, mail, links=links, batch_size=3))
        except Exception as exc:  # pragma: no cover - shown by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=job) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == [] and len(reports) == 2
    by_account = {}
    for sent in mail.of("validity_reminder"):
        by_account[sent.to] = by_account.get(sent.to, 0) + 1
    assert len(by_account) == n and set(by_account.values()) == {1}
    assert len(mail.of("account_expired")) == n and len(mail.of("account_lapsed")) == n // 3
    assert set().union(*(ids(r.reminders) for r in reports)) == reminded
    assert set().union(*(ids(r.expired) for r in reports)) == ending
    assert set().union(*(ids(r.lapsed) for r in reports)) == lapsing
    assert sum(len(r.items) for r in reports) == 2 * n + n // 3
    assert len(events(db.session, event="reminder_sent")) == n
    assert len(events(db.session, event="account_expired")) == n


@pytest.mark.parametrize("policy_settings", [RULE_2009], ids=["rule_2009"])
def test_under_the_2009_rule_reminders_go_before_the_password_expires(rt, db, ctx, mail):
    account, _password = activated(rt, ctx)
    identifier, changed = account.identifier, account.password_changed_at
    mail.sent.clear()
    assert run(rt, db, mail, now=changed + timedelta(days=699)).items == []
    report = run(rt, db, mail, now=changed + timedelta(days=701))
    assert ids(report.reminders) == {identifier}
    [sent] = mail.of("validity_reminder")
    assert sent.context["kind"] == "password" and sent.context["valid_until"] == changed + timedelta(days=730)
    assert sent.context["grace_days"] == 60 and sent.context["extend_url"].endswith("/account/password")
    assert run(rt, db, mail, now=changed + timedelta(days=702)).items == []
    assert ids(run(rt, db, mail, now=changed + timedelta(days=724)).reminders) == {identifier}
    # No end date: nothing expires, however long the password stays unrenewed.
    assert run(rt, db, mail, now=changed + timedelta(days=3000)).expired == []
    assert state_of(db, identifier) is S.ACTIVE


def test_the_gate_refuses_an_account_expired_after_its_token_was_issued(rt, db, client, agency, mail):
    agency.offline = True  # refresh tokens need offline access (OIDC Core §11)
    from ..support.flows import Citizen

    account = make_account(rt, valid_for=timedelta(hours=1))
    Citizen(client, rt, account).signed_in_quickly()
    tokens = agency.tokens()
    assert agency.userinfo(tokens["access_token"]).status_code == 200
    assert ids(run(rt, db, mail, now=rt.now() + timedelta(hours=2)).expired) == {account.identifier}
    assert agency.userinfo(tokens["access_token"]).status_code == 401
    assert agency.refresh(tokens["refresh_token"]).get_json()["error"] == "invalid_grant"
    assert agency.introspect(tokens["access_token"]).get_json() == {"active": False}


def test_the_run_removes_interactions_left_unfinished_and_keeps_the_live_ones(rt, db, mail):
    from idp.interactions import service as interactions
    from idp.interactions.models import Interaction

    from ..support.factories import make_client

    client, _secret = make_client(rt)
    now = rt.now()
    old = interactions.start(
        db.session, client_pk=client.id, params={"client_id": client.client_id}, browser="b1", start_sid="",
        now=now - timedelta(days=3), lifetime=timedelta(minutes=10),
    )
    live = interactions.start(
        db.session, client_pk=client.id, params={"client_id": client.client_id}, browser="b2", start_sid="",
        now=now, lifetime=timedelta(minutes=10),
    )
    old_uid, live_uid = old.uid, live.uid
    db.session.commit()

    report = run(rt, db, mail, dry_run=True)
    assert report.interactions_purged == 0
    assert db.session.scalar(select(func.count()).select_from(Interaction)) == 2

    report = run(rt, db, mail)
    assert report.interactions_purged == 1
    assert report.summary()["interactions_purged"] == 1
    remaining = set(db.session.scalars(select(Interaction.uid)))
    assert remaining == {live_uid}
    assert old_uid not in remaining


def test_a_run_takes_no_account_another_transaction_holds_and_does_not_wait_for_it(rt, db, mail):
    """Overlapping runs on PostgreSQL: a batch of endings is selected FOR UPDATE SKIP LOCKED, so a run
    leaves the rows another run (or any transaction) holds to it, instead of waiting or ending them twice."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("row locks are PostgreSQL's; SQLite has one writer at a time")
    held = make_account(rt, valid_for=timedelta(hours=1))
    free = make_account(rt, valid_for=timedelta(hours=1))
    held_id, as_of = held.id, rt.now() + timedelta(hours=2)
    with Session(db.engine) as other:
        other.execute(select(Account.id).where(Account.id == held_id).with_for_update())
        db.session.execute(text("SET lock_timeout = '5s'"))  # waiting would fail the test instead of hanging it
        report = run(rt, db, mail, now=as_of)
        assert report.expired and ids(report.expired) == {free.identifier}
        assert state_of(db, held.identifier) is S.ACTIVE
        db.session.commit()
    again = run(rt, db, mail, now=as_of)  # the holder let go: the next run ends it
    assert ids(again.expired) == {held.identifier} and state_of(db, held.identifier) is S.EXPIRED
    assert len(mail.of("account_expired")) == 2


def test_an_account_ended_by_the_run_forgets_its_browsers_and_recovery_links(rt, db, mail):
    """The jobs end accounts in batches through the same forgetting as one account's end."""
    from idp.accounts import devices
    from idp.accounts import recovery as recovery_rules

    account = make_account(rt, valid_for=timedelta(hours=1))
    devices.remember(db.session, account, "a-browser-secret", rt.now())
    db.session.add(recovery_rules.RecoveryLink(
        account_id=account.id, token_digest="d" * 64, created_at=rt.now(), expires_at=rt.now() + timedelta(days=1),
    ))
    db.session.commit()
    report = run(rt, db, mail, now=rt.now() + timedelta(hours=2))
    assert ids(report.expired) == {account.identifier}
    assert db.session.scalar(select(func.count()).select_from(devices.KnownDevice)
                             .where(devices.KnownDevice.account_id == account.id)) == 0
    link = db.session.scalar(select(recovery_rules.RecoveryLink).where(recovery_rules.RecoveryLink.account_id == account.id))
    assert link is None or link.revoked_at is not None
