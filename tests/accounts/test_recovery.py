"""Recovering a forgotten password (idp.accounts.recovery, idp.lifecycle.recovery) against a real
database: who gets which mail, a link stored only as a digest and used once, the second factor
before the new password, everything the account reached ended afterwards."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from idp.accounts import recovery as rules
from idp.accounts.errors import AccountError
from idp.accounts.policy import ValidityPolicy
from idp.accounts.recovery import RecoveryLink, RecoveryPolicy, Route
from idp.accounts.states import AccountState, transition
from idp.audit import AuditEvent
from idp.lifecycle import recovery
from idp.lifecycle import second_factor as factors
from idp.lifecycle.context import context_for
from idp.security import totp
from idp.sessions import service as sessions
from idp.sessions.models import SsoSession

from ..support.factories import PASSWORD, make_account
from ..support.lifecycle import NEW_PASSWORD, RecordingNotifier


@pytest.fixture
def ctx(rt, db, mail):
    return context_for(rt, db.session, mail)


def token_of(mail: RecordingNotifier) -> str:
    return mail.of("recovery_link")[-1].context["url"].split("token=", 1)[1]


def events(db, name: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.event == name)))


def test_a_matching_account_gets_a_link_stored_only_as_a_digest(ctx, rt, db, mail):
    account = make_account(rt)
    recovery.request_link(ctx, account.username.upper(), account.email.upper(), rt.now(), address="192.0.2.1")
    [sent] = mail.of("recovery_link")
    assert sent.to == account.email and sent.locale == "hu"
    token = token_of(mail)
    assert len(token) >= 43  # 256 bits
    link = db.session.scalar(select(RecoveryLink))
    assert link.token_digest != token and token not in link.token_digest
    assert link.expires_at == rt.now() + timedelta(minutes=30)
    [event] = events(db, "recovery_requested")
    assert event.account_id == account.id and event.details == {"outcome": "link"}


@pytest.mark.parametrize("case", ["unknown_username", "wrong_email", "deleted", "expired", "lapsed", "no_email"])
def test_no_mail_and_nothing_said_when_no_live_account_matches(ctx, rt, db, mail, case):
    state = {"deleted": AccountState.DELETED, "expired": AccountState.EXPIRED, "lapsed": AccountState.LAPSED}
    account = make_account(rt, state=state.get(case, AccountState.ACTIVE), **({"email": None} if case == "no_email" else {}))
    username = "nobody-here" if case == "unknown_username" else account.username
    email = "other@example.hu" if case == "wrong_email" else (account.email or "x@example.hu")
    assert recovery.request_link(ctx, username, email, rt.now()) is None
    assert mail.sent == []
    assert db.session.scalar(select(RecoveryLink)) is None
    [event] = events(db, "recovery_requested")
    assert event.account_id is None and event.details == {"outcome": "none"}


@pytest.mark.parametrize(
    ("traits", "template", "context"),
    [
        ({"state": AccountState.AWAITING_ACTIVATION, "initial_password": True}, "recovery_activation", {"awaiting": True}),
        ({"initial_password": True}, "recovery_activation", {"awaiting": False}),
        ({"state": AccountState.PENDING_VERIFICATION, "initial_password": True}, "recovery_office", {"verify": True}),
    ],
    ids=["awaiting_activation", "initial_password", "pending_verification"],
)
def test_an_account_without_a_chosen_password_is_sent_where_it_belongs_without_a_link(ctx, rt, db, mail, traits, template, context):
    account = make_account(rt, **traits)
    recovery.request_link(ctx, account.username, account.email, rt.now())
    [sent] = mail.sent
    assert sent.template == template
    assert {k: sent.context[k] for k in context} == context
    assert db.session.scalar(select(RecoveryLink)) is None


def test_a_password_expired_beyond_the_renewal_window_goes_to_an_office(rt, db, mail):
    rule_2009 = ValidityPolicy(account_validity=None, password_max_age=timedelta(days=730))
    ctx = context_for(rt, db.session, mail)
    ctx = type(ctx)(**{**ctx.__dict__, "policy": rule_2009})
    within = make_account(rt, valid_for=None, password_age=timedelta(days=730 + 30))
    beyond = make_account(rt, valid_for=None, password_age=timedelta(days=730 + 61))
    assert rules.route_for(within, rt.now(), rule_2009) is Route.LINK
    recovery.request_link(ctx, beyond.username, beyond.email, rt.now())
    [sent] = mail.sent
    assert sent.template == "recovery_office" and sent.context["verify"] is False


def test_requests_over_the_limit_send_nothing_and_return_the_same(ctx, rt, db, mail):
    account = make_account(rt)
    limit = ctx.recovery.per_account
    for _ in range(limit + 2):
        assert recovery.request_link(ctx, account.username, account.email, rt.now(), address="192.0.2.7") is None
    assert len(mail.of("recovery_link")) == limit
    assert [e.details["outcome"] for e in events(db, "recovery_requested")].count("limited") == 2


def test_a_new_link_revokes_the_earlier_one(ctx, rt, mail):
    account = make_account(rt)
    recovery.request_link(ctx, account.username, account.email, rt.now())
    first = token_of(mail)
    recovery.request_link(ctx, account.username, account.email, rt.now())
    with pytest.raises(AccountError) as err:
        recovery.open_link(ctx, first, rt.now())
    assert err.value.reason == "recovery_link_invalid"
    assert recovery.open_link(ctx, token_of(mail), rt.now()).account.id == account.id


def test_a_link_works_once_and_sets_a_password_under_the_usual_rules(ctx, rt, db, mail):
    account = make_account(rt)
    recovery.request_link(ctx, account.username, account.email, rt.now())
    token = token_of(mail)
    with pytest.raises(AccountError) as err:
        recovery.reset_password(ctx, token, "short", rt.now())
    assert err.value.reason == "password_too_short"
    recovery.reset_password(ctx, token, NEW_PASSWORD, rt.now(), address="192.0.2.9", user_agent="Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0")
    assert rt.passwords.verify(account.password_hash, NEW_PASSWORD).ok
    with pytest.raises(AccountError) as err:
        recovery.reset_password(ctx, token, NEW_PASSWORD + " again", rt.now())
    assert err.value.reason == "recovery_link_invalid"
    [notice] = mail.of("security_notice")
    assert notice.context["event"] == "password_recovered" and notice.context["address"] == "192.0.2.9"
    [event] = events(db, "password_recovered")
    assert event.account_id == account.id


def test_a_link_expires(ctx, rt, clock, mail):
    account = make_account(rt)
    recovery.request_link(ctx, account.username, account.email, rt.now())
    clock.advance(minutes=31)
    with pytest.raises(AccountError) as err:
        recovery.reset_password(ctx, token_of(mail), NEW_PASSWORD, rt.now())
    assert err.value.reason == "recovery_link_invalid"
    assert rt.passwords.verify(account.password_hash, PASSWORD).ok


def test_the_link_lifetime_is_policy(rt, db, mail):
    ctx = context_for(rt, db.session, mail)
    ctx = type(ctx)(**{**ctx.__dict__, "recovery": RecoveryPolicy(link_lifetime=timedelta(minutes=10))})
    account = make_account(rt)
    recovery.request_link(ctx, account.username, account.email, rt.now())
    assert db.session.scalar(select(RecoveryLink)).expires_at == rt.now() + timedelta(minutes=10)


def test_a_forged_or_unknown_link_is_refused(ctx, rt):
    for token in ("", "x" * 200, "not-a-link"):
        with pytest.raises(AccountError) as err:
            recovery.open_link(ctx, token, rt.now())
        assert err.value.reason == "recovery_link_invalid"


def enrol_totp(ctx, account, clock) -> tuple[str, list[str]]:
    secret = factors.begin_enrolment(ctx, account)
    codes = factors.confirm_enrolment(ctx, account, totp.code_at(secret, clock.now()), clock.now())
    clock.advance(seconds=30)
    return secret, codes


def test_with_ugyfelkapu_plus_the_code_comes_before_the_new_password(ctx, rt, db, clock, mail):
    account = make_account(rt)
    secret, _codes = enrol_totp(ctx, account, clock)
    recovery.request_link(ctx, account.username, account.email, rt.now())
    token = token_of(mail)
    assert recovery.open_link(ctx, token, rt.now()).factor_owed == "otp"
    with pytest.raises(AccountError) as err:
        recovery.reset_password(ctx, token, NEW_PASSWORD, rt.now())
    assert err.value.reason == "recovery_factor_owed"
    with pytest.raises(AccountError) as err:
        recovery.prove_factor(ctx, token, "000000" if totp.code_at(secret, clock.now()) != "000000" else "111111", rt.now())
    assert err.value.reason == "second_factor_failed"
    assert recovery.prove_factor(ctx, token, totp.code_at(secret, clock.now()), rt.now()) == "otp"
    assert recovery.open_link(ctx, token, rt.now()).factor_owed is None
    recovery.reset_password(ctx, token, NEW_PASSWORD, rt.now())
    assert rt.passwords.verify(account.password_hash, NEW_PASSWORD).ok
    assert account.has_second_factor  # recovery replaces the password, never the second factor


def test_a_recovery_code_stands_in_for_the_authenticator(ctx, rt, db, clock, mail):
    account = make_account(rt)
    _secret, codes = enrol_totp(ctx, account, clock)
    recovery.request_link(ctx, account.username, account.email, rt.now())
    token = token_of(mail)
    assert recovery.prove_factor(ctx, token, codes[0], rt.now()) == "recovery"
    recovery.reset_password(ctx, token, NEW_PASSWORD, rt.now())
    assert events(db, "recovery_code_used")


def test_the_emailed_code_is_sent_and_checked_for_the_link(ctx, rt, db, clock, mail):
    account = make_account(rt)
    account.email_code_enrolled_at = rt.now()
    db.session.commit()
    recovery.request_link(ctx, account.username, account.email, rt.now())
    token = token_of(mail)
    assert recovery.open_link(ctx, token, rt.now()).factor_owed == "email"
    assert recovery.send_code(ctx, token, rt.now())
    code = mail.of("second_factor_code")[-1].context["code"]
    assert recovery.prove_factor(ctx, token, code, rt.now()) == "email"
    recovery.reset_password(ctx, token, NEW_PASSWORD, rt.now())


def test_afterwards_every_session_ends_and_every_token_is_revoked(ctx, rt, db, mail):
    account = make_account(rt)
    _live = [sessions.start(db.session, account, rt.now(), ["pwd"], "low")[0] for _ in range(2)]
    db.session.commit()
    recovery.request_link(ctx, account.username, account.email, rt.now())
    recovery.reset_password(ctx, token_of(mail), NEW_PASSWORD, rt.now())
    ended = db.session.scalars(select(SsoSession).where(SsoSession.account_id == account.id)).all()
    assert ended and all(s.ended_at is not None and s.end_reason == "password_recovered" for s in ended)
    [event] = events(db, "password_recovered")
    assert event.details["sessions_ended"] == 2


def test_no_link_once_the_account_ended(ctx, rt, db, mail):
    account = make_account(rt)
    recovery.request_link(ctx, account.username, account.email, rt.now())
    token = token_of(mail)
    transition(account, AccountState.DELETED, rt.now())
    db.session.commit()
    with pytest.raises(AccountError) as err:
        recovery.open_link(ctx, token, rt.now())
    assert err.value.reason == "recovery_link_invalid"
