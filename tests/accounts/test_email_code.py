"""Ügyfélkapu+ by emailed code against a real database: chosen with the password, a six-digit code
valid ten minutes and used once, a new code kills the old one, five wrong tries kill a code,
sending is rate-limited, the code is kept as a keyed digest and never reaches a log."""

from __future__ import annotations

import hashlib
import logging

import pytest
from sqlalchemy import select

from idp.accounts import email_code
from idp.accounts import second_factor as rules
from idp.accounts.errors import AccountError
from idp.accounts.records import EmailCode
from idp.audit import AuditEvent
from idp.lifecycle import second_factor as service
from idp.lifecycle.context import context_for
from idp.security import totp

from ..support.factories import PASSWORD, make_account
from ..support.flows import Citizen


@pytest.fixture
def ctx(rt, db, mail):
    return context_for(rt, db.session, notifier=mail)


@pytest.fixture
def account(rt, ctx):
    account = make_account(rt, locale="en")
    service.choose_email(ctx, account, PASSWORD, "", rt.now())
    return account


def refused(call) -> str:
    with pytest.raises(AccountError) as caught:
        call()
    return caught.value.reason


def sent_code(ctx, account, mail, clock, *, again=False) -> str:
    assert service.send_code(ctx, account, clock.now(), again=again)
    return mail.of("second_factor_code", account.email)[-1].context["code"]


def other_than(code: str) -> str:
    return "000000" if code != "000000" else "111111"


def events_of(db, account) -> list[str]:
    return db.session.scalars(select(AuditEvent.event).where(AuditEvent.account_id == account.id)).all()


def test_choosing_the_emailed_code_needs_the_password(ctx, rt, db, mail):
    account = make_account(rt)
    assert refused(lambda: service.choose_email(ctx, account, "not the password", "", rt.now())) == "password_wrong"
    assert not account.has_second_factor
    codes = service.choose_email(ctx, account, PASSWORD, "", rt.now())
    assert account.second_factor_method == rules.EMAIL and len(codes) == rules.RECOVERY_CODE_COUNT
    assert "second_factor_enrolled" in events_of(db, account)
    (notice,) = mail.of("second_factor_changed", account.email)
    assert notice.context["change"] == "enrolled" and notice.context["method"] == "email"


def test_a_code_is_mailed_in_the_citizen_s_language_and_works_once(ctx, account, mail, clock):
    code = sent_code(ctx, account, mail, clock)
    (sent,) = mail.of("second_factor_code", account.email)
    assert sent.locale == "en" and len(code) == 6 and code.isdigit()
    assert sent.context["valid_until"] == clock.now() + email_code.LIFETIME
    assert service.verify(ctx, account, code, clock.now()) == rules.EMAIL
    assert refused(lambda: service.verify(ctx, account, code, clock.now())) == "second_factor_failed"


def test_a_code_is_valid_ten_minutes(ctx, account, mail, clock):
    code = sent_code(ctx, account, mail, clock)
    clock.advance(minutes=9, seconds=59)
    assert service.verify(ctx, account, code, clock.now()) == rules.EMAIL
    clock.advance(minutes=1)
    code = sent_code(ctx, account, mail, clock)
    clock.advance(minutes=10)
    assert refused(lambda: service.verify(ctx, account, code, clock.now())) == "email_code_expired"


def test_a_new_code_kills_the_old_one(ctx, account, mail, clock):
    old = sent_code(ctx, account, mail, clock)
    clock.advance(seconds=60)
    new = sent_code(ctx, account, mail, clock, again=True)
    if new == old:  # one in a million: the same digits again are the new code
        pytest.skip("the new code drew the same six digits")
    assert refused(lambda: service.verify(ctx, account, old, clock.now())) == "second_factor_failed"
    assert service.verify(ctx, account, new, clock.now()) == rules.EMAIL


def test_a_new_code_can_be_asked_for_a_minute_after_the_last(ctx, account, mail, clock):
    sent_code(ctx, account, mail, clock)
    clock.advance(seconds=45)
    with pytest.raises(AccountError) as caught:
        service.send_code(ctx, account, clock.now(), again=True)
    assert caught.value.reason == "email_code_too_soon" and caught.value.details["seconds"] == 15
    clock.advance(seconds=15)
    sent_code(ctx, account, mail, clock, again=True)
    assert len(mail.of("second_factor_code")) == 2


def test_right_after_the_password_a_code_just_sent_is_not_sent_twice(ctx, account, mail, clock):
    first = sent_code(ctx, account, mail, clock)
    clock.advance(seconds=20)
    assert service.send_code(ctx, account, clock.now())  # a second sign-in at once: the code is on its way
    assert len(mail.of("second_factor_code")) == 1
    assert service.verify(ctx, account, first, clock.now()) == rules.EMAIL
    sent_code(ctx, account, mail, clock)  # the first one was used: a new sign-in gets a new code
    assert len(mail.of("second_factor_code")) == 2


def test_at_most_ten_codes_an_hour(ctx, account, mail, clock):
    for _ in range(email_code.PER_HOUR):
        sent_code(ctx, account, mail, clock, again=True)
        clock.advance(seconds=61)
    assert refused(lambda: service.send_code(ctx, account, clock.now(), again=True)) == "email_code_limit"
    clock.advance(hours=1)
    sent_code(ctx, account, mail, clock, again=True)


def test_five_wrong_tries_kill_the_code_and_every_try_stays_counted(ctx, account, mail, clock, db):
    code = sent_code(ctx, account, mail, clock)
    for _ in range(email_code.MAX_ATTEMPTS - 1):
        assert refused(lambda: service.verify(ctx, account, other_than(code), clock.now())) == "second_factor_failed"
    db.session.expire_all()
    assert db.session.scalar(select(EmailCode.attempts)) == email_code.MAX_ATTEMPTS - 1  # committed despite the refusal
    assert refused(lambda: service.verify(ctx, account, other_than(code), clock.now())) == "email_code_exhausted"
    assert refused(lambda: service.verify(ctx, account, code, clock.now())) == "email_code_exhausted"
    clock.advance(seconds=1)
    new = sent_code(ctx, account, mail, clock, again=True)  # the dead code does not hold the next one back
    assert service.verify(ctx, account, new, clock.now()) == rules.EMAIL


def test_a_code_that_could_not_be_mailed_does_not_hold_the_next_one_back(ctx, account, mail, clock):
    mail.fail = True
    assert service.send_code(ctx, account, clock.now()) is False
    mail.fail = False
    code = sent_code(ctx, account, mail, clock, again=True)  # at once, not a minute later
    assert service.verify(ctx, account, code, clock.now()) == rules.EMAIL


def test_no_code_waiting_is_said_so(ctx, account, clock):
    assert refused(lambda: service.verify(ctx, account, "123456", clock.now())) == "email_code_missing"


def test_the_code_is_kept_as_a_keyed_digest_bound_to_the_account(ctx, rt, account, mail, clock, db):
    code = sent_code(ctx, account, mail, clock)
    row = db.session.scalar(select(EmailCode))
    assert not any(code in str(getattr(row, c.name)) for c in EmailCode.__table__.columns)
    assert row.code_digest != hashlib.sha256(code.encode()).hexdigest()  # a million tries would reverse that
    assert row.code_digest == rt.email_code_digest(f"{account.id}:{code}")
    assert row.code_digest != rt.email_code_digest(f"{account.id + 1}:{code}")


def test_a_recovery_code_stands_in_for_the_emailed_code(ctx, rt, mail, clock):
    account = make_account(rt)
    recovery = service.choose_email(ctx, account, PASSWORD, "", clock.now())
    assert service.verify(ctx, account, recovery[0], clock.now()) == rules.RECOVERY
    assert refused(lambda: service.verify(ctx, account, recovery[0], clock.now())) == "second_factor_failed"


def test_codes_are_mailed_only_to_a_citizen_on_the_emailed_method(ctx, rt, mail, clock):
    account = make_account(rt)
    assert refused(lambda: service.send_code(ctx, account, clock.now(), again=True)) == "second_factor_not_enrolled"
    secret = service.begin_enrolment(ctx, account)
    service.confirm_enrolment(ctx, account, totp.code_at(secret, clock.now()), clock.now())
    assert refused(lambda: service.send_code(ctx, account, clock.now(), again=True)) == "second_factor_not_enrolled"
    assert mail.of("second_factor_code") == []


def test_moving_from_the_authenticator_to_email_needs_the_password_and_a_current_code(ctx, rt, db, mail, clock):
    account = make_account(rt)
    secret = service.begin_enrolment(ctx, account)
    recovery = service.confirm_enrolment(ctx, account, totp.code_at(secret, clock.now()), clock.now())
    clock.advance(seconds=30)
    code = totp.code_at(secret, clock.now())
    assert refused(lambda: service.choose_email(ctx, account, PASSWORD, "", clock.now())) == "second_factor_failed"
    assert refused(lambda: service.choose_email(ctx, account, "wrong", code, clock.now())) == "password_wrong"
    assert account.second_factor_method == rules.OTP
    assert service.choose_email(ctx, account, PASSWORD, code, clock.now()) == []  # the recovery codes stay
    assert account.second_factor_method == rules.EMAIL and account.totp_secret_sealed is None
    assert service.verify(ctx, account, recovery[1], clock.now()) == rules.RECOVERY
    assert "second_factor_method_changed" in events_of(db, account)
    assert mail.of("second_factor_changed")[-1].context == {"change": "method_changed", "method": "email",
                                                            "when": clock.now(), "name": account.display_name}


def test_turning_it_off_kills_a_waiting_code(ctx, account, mail, clock):
    code = sent_code(ctx, account, mail, clock)
    recovery_code = rules.issue_recovery_codes(ctx.session, account, clock.now())[0]
    ctx.session.commit()
    service.remove(ctx, account, PASSWORD, recovery_code, clock.now())
    assert not account.has_second_factor
    assert mail.of("second_factor_changed")[-1].context["change"] == "removed"
    service.choose_email(ctx, account, PASSWORD, "", clock.now())
    assert refused(lambda: service.verify(ctx, account, code, clock.now())) == "email_code_missing"


def test_no_log_line_carries_the_code(rt, db, clock, caplog):
    caplog.set_level(logging.DEBUG)
    citizen = Citizen(None, rt, make_account(rt))
    citizen.with_email_factor()
    assert service.send_code(context_for(rt, db.session), citizen.account, clock.now())  # the real mailer
    code = citizen.emailed_code()
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "outbox" in logged and code not in logged
