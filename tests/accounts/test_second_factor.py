"""Ügyfélkapu+ rules against a real database: enrolment counts only after a first code, a code is
accepted once, recovery codes are single-use, removal needs the password and a code."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from idp.accounts import second_factor as rules
from idp.accounts.errors import AccountError
from idp.accounts.records import RecoveryCode
from idp.audit import AuditEvent
from idp.lifecycle import second_factor as service
from idp.lifecycle.context import context_for
from idp.security import totp
from idp.security.sealing import CITIZEN_TOTP_LABEL, Sealer

from ..support.factories import PASSWORD, make_account
from ..support.flows import Citizen


@pytest.fixture
def ctx(rt, db):
    return context_for(rt, db.session)


def enrolled(ctx, rt, clock):
    account = make_account(rt)
    secret = service.begin_enrolment(ctx, account)
    codes = service.confirm_enrolment(ctx, account, totp.code_at(secret, clock.now()), clock.now())
    clock.advance(seconds=30)
    return account, secret, codes


def test_a_set_aside_secret_does_not_count_until_a_first_code(ctx, rt):
    account = make_account(rt)
    service.begin_enrolment(ctx, account)
    assert account.totp_pending_sealed and not account.totp_secret_sealed and not account.has_second_factor
    with pytest.raises(AccountError) as err:
        service.verify(ctx, account, "123456", rt.now())
    assert err.value.reason == "second_factor_not_enrolled"


def test_a_wrong_first_code_leaves_the_second_factor_off(ctx, rt):
    account = make_account(rt)
    secret = service.begin_enrolment(ctx, account)
    wrong = "000000" if totp.code_at(secret, rt.now()) != "000000" else "111111"
    with pytest.raises(AccountError) as err:
        service.confirm_enrolment(ctx, account, wrong, rt.now())
    assert err.value.reason == "second_factor_failed"
    assert not account.has_second_factor


def test_confirming_turns_it_on_and_issues_ten_hashed_recovery_codes(ctx, rt, db, clock):
    account, secret, codes = enrolled(ctx, rt, clock)
    assert account.has_second_factor
    assert len(codes) == rules.RECOVERY_CODE_COUNT == len(set(codes))
    stored = db.session.scalars(select(RecoveryCode.code_digest).where(RecoveryCode.account_id == account.id)).all()
    assert len(stored) == 10
    assert not {rules.normalise_recovery_code(c) for c in codes} & set(stored)  # digests, never the codes
    assert secret not in account.totp_secret_sealed  # sealed at rest
    events = db.session.scalars(select(AuditEvent.event).where(AuditEvent.account_id == account.id)).all()
    assert "second_factor_enrolled" in events


def test_enrolling_again_is_refused_while_one_is_on(ctx, rt, clock):
    account, _secret, _codes = enrolled(ctx, rt, clock)
    with pytest.raises(AccountError) as err:
        service.begin_enrolment(ctx, account)
    assert err.value.reason == "second_factor_already_enrolled"


def test_a_code_is_accepted_once(ctx, rt, clock):
    account, secret, _codes = enrolled(ctx, rt, clock)
    code = totp.code_at(secret, clock.now())
    assert service.verify(ctx, account, code, clock.now()) == rules.OTP
    with pytest.raises(AccountError) as err:
        service.verify(ctx, account, code, clock.now())
    assert err.value.reason == "second_factor_failed"


def test_an_older_step_is_refused_after_a_newer_one_was_used(ctx, rt, clock):
    account, secret, _codes = enrolled(ctx, rt, clock)
    earlier = totp.code_at(secret, clock.now())
    clock.advance(seconds=30)
    service.verify(ctx, account, totp.code_at(secret, clock.now()), clock.now())
    with pytest.raises(AccountError):
        service.verify(ctx, account, earlier, clock.now())  # within the drift window, but older


def test_a_recovery_code_works_once(ctx, rt, db, clock):
    account, _secret, codes = enrolled(ctx, rt, clock)
    typed = codes[0].lower().replace("-", " ")  # as read from paper
    assert service.verify(ctx, account, typed, clock.now()) == rules.RECOVERY
    with pytest.raises(AccountError) as err:
        service.verify(ctx, account, codes[0], clock.now())
    assert err.value.reason == "second_factor_failed"
    assert service.verify(ctx, account, codes[1], clock.now()) == rules.RECOVERY
    events = db.session.scalars(select(AuditEvent.event).where(AuditEvent.account_id == account.id)).all()
    assert events.count("recovery_code_used") == 2


def test_renewing_recovery_codes_retires_the_old_ones(ctx, rt, clock):
    account, secret, old = enrolled(ctx, rt, clock)
    new = service.renew_recovery_codes(ctx, account, PASSWORD, totp.code_at(secret, clock.now()), clock.now())
    with pytest.raises(AccountError):
        service.verify(ctx, account, old[0], clock.now())
    assert service.verify(ctx, account, new[0], clock.now()) == rules.RECOVERY


def test_removal_needs_the_password_and_a_code(ctx, rt, db, clock):
    account, secret, _codes = enrolled(ctx, rt, clock)
    with pytest.raises(AccountError):
        service.remove(ctx, account, "not the password", totp.code_at(secret, clock.now()), clock.now())
    assert account.has_second_factor
    service.remove(ctx, account, PASSWORD, totp.code_at(secret, clock.now()), clock.now())
    assert not account.has_second_factor and account.totp_secret_sealed is None
    assert db.session.scalars(select(RecoveryCode).where(RecoveryCode.account_id == account.id)).all() == []


def test_citizen_secrets_are_sealed_with_a_key_other_than_the_officers(ctx, rt):
    account = make_account(rt)
    service.begin_enrolment(ctx, account)
    with pytest.raises(Exception):  # noqa: B017 - any failure to read is the point
        rt.sealer.unseal(account.totp_pending_sealed)


def test_after_the_server_secret_changes_a_recovery_code_still_lets_the_citizen_in(ctx, rt, clock):
    account, secret, codes = enrolled(ctx, rt, clock)
    account.totp_secret_sealed = Sealer("x" * 48, CITIZEN_TOTP_LABEL).seal(secret)  # sealed under another key
    with pytest.raises(AccountError) as err:
        service.verify(ctx, account, totp.code_at(secret, clock.now()), clock.now())
    assert err.value.reason == "second_factor_unreadable"
    assert service.verify(ctx, account, codes[0], clock.now()) == rules.RECOVERY


# Replacing the authenticator, renewing recovery codes, and what the citizen is told


def refused(call) -> str:
    with pytest.raises(AccountError) as caught:
        call()
    return caught.value.reason


def notices(rt, account) -> list[str]:
    return [mail.subject for mail in Citizen(None, rt, account).mail()]


def test_replacing_needs_the_password_and_a_current_code(ctx, rt, clock):
    account, secret, _codes = enrolled(ctx, rt, clock)
    code = totp.code_at(secret, clock.now())
    assert refused(lambda: service.begin_replacement(ctx, account, "wrong", code, clock.now())) == "password_wrong"
    assert refused(lambda: service.begin_replacement(ctx, account, PASSWORD, "000000" if code != "000000" else "111111",
                                                     clock.now())) == "second_factor_failed"
    assert account.totp_pending_sealed is None


def test_the_old_authenticator_works_until_the_new_one_is_confirmed(ctx, rt, db, clock):
    account, old, codes = enrolled(ctx, rt, clock)
    new = service.begin_replacement(ctx, account, PASSWORD, totp.code_at(old, clock.now()), clock.now())
    assert new != old and service.pending_secret(ctx, account) == new
    clock.advance(seconds=30)
    assert service.verify(ctx, account, totp.code_at(old, clock.now()), clock.now()) == rules.OTP  # a bad scan locks no one out
    wrong = "000000" if totp.code_at(new, clock.now()) != "000000" else "111111"
    assert refused(lambda: service.confirm_enrolment(ctx, account, wrong, clock.now())) == "second_factor_failed"
    assert service.confirm_enrolment(ctx, account, totp.code_at(new, clock.now()), clock.now()) == []  # same step: a new secret
    clock.advance(seconds=30)
    assert refused(lambda: service.verify(ctx, account, totp.code_at(old, clock.now()), clock.now())) == "second_factor_failed"
    assert service.verify(ctx, account, totp.code_at(new, clock.now()), clock.now()) == rules.OTP
    assert service.verify(ctx, account, codes[0], clock.now()) == rules.RECOVERY  # recovery codes are kept
    events = db.session.scalars(select(AuditEvent.event).where(AuditEvent.account_id == account.id)).all()
    assert {"authenticator_replacement_started", "second_factor_replaced"} <= set(events)


def test_the_new_authenticator_s_first_code_cannot_confirm_it_twice(ctx, rt, clock):
    account, old, _codes = enrolled(ctx, rt, clock)
    new = service.begin_replacement(ctx, account, PASSWORD, totp.code_at(old, clock.now()), clock.now())
    code = totp.code_at(new, clock.now())
    service.confirm_enrolment(ctx, account, code, clock.now())
    assert refused(lambda: service.confirm_enrolment(ctx, account, code, clock.now())) == "second_factor_nothing_pending"
    assert refused(lambda: service.verify(ctx, account, code, clock.now())) == "second_factor_failed"  # its step is used


def test_a_cancelled_replacement_leaves_the_authenticator_as_it_was(ctx, rt, clock):
    account, old, _codes = enrolled(ctx, rt, clock)
    service.begin_replacement(ctx, account, PASSWORD, totp.code_at(old, clock.now()), clock.now())
    service.cancel_pending(ctx, account)
    assert account.totp_pending_sealed is None and account.second_factor_method == rules.OTP
    clock.advance(seconds=30)
    assert service.verify(ctx, account, totp.code_at(old, clock.now()), clock.now()) == rules.OTP


def test_leaving_the_emailed_code_for_an_app_keeps_the_emailed_code_until_the_app_is_confirmed(ctx, rt, db, clock):
    citizen = Citizen(None, rt, make_account(rt))
    account = citizen.account
    citizen.with_email_factor()
    service.send_code(ctx, account, clock.now())
    secret = service.begin_replacement(ctx, account, PASSWORD, citizen.emailed_code(), clock.now())
    clock.advance(seconds=61)
    service.send_code(ctx, account, clock.now(), again=True)
    assert service.verify(ctx, account, citizen.emailed_code(), clock.now()) == rules.EMAIL
    service.confirm_enrolment(ctx, account, totp.code_at(secret, clock.now()), clock.now())
    assert account.second_factor_method == rules.OTP and account.email_code_enrolled_at is None
    events = db.session.scalars(select(AuditEvent.details).where(AuditEvent.event == "second_factor_method_changed"))
    assert list(events) == [{"before": "email", "after": "otp"}]


def test_renewing_recovery_codes_needs_the_password_too(ctx, rt, clock):
    account, secret, old = enrolled(ctx, rt, clock)
    code = totp.code_at(secret, clock.now())
    assert refused(lambda: service.renew_recovery_codes(ctx, account, "wrong", code, clock.now())) == "password_wrong"
    assert service.verify(ctx, account, old[0], clock.now()) == rules.RECOVERY


def test_every_change_is_mailed_to_the_citizen(ctx, rt, clock):
    account, secret, codes = enrolled(ctx, rt, clock)
    new = service.begin_replacement(ctx, account, PASSWORD, totp.code_at(secret, clock.now()), clock.now())
    service.confirm_enrolment(ctx, account, totp.code_at(new, clock.now()), clock.now())
    service.renew_recovery_codes(ctx, account, PASSWORD, codes[0], clock.now())
    clock.advance(seconds=30)
    service.choose_email(ctx, account, PASSWORD, totp.code_at(new, clock.now()), clock.now())
    service.send_code(ctx, account, clock.now())
    service.remove(ctx, account, PASSWORD, Citizen(None, rt, account).emailed_code(), clock.now())
    changed = [s for s in notices(rt, account) if s == "Ügyfélkapu – megváltozott az Ügyfélkapu+ beállítása"]
    assert len(changed) == 5  # enrolled, replaced, recovery codes renewed, method changed, removed
    texts = " ".join(m.text for m in Citizen(None, rt, account).mail())
    for phrase in ("bekapcsolták", "új hitelesítő alkalmazást", "új törlőkódokat", "megváltozott az Ügyfélkapu+ módja",
                   "kikapcsolták"):
        assert phrase in texts, phrase
