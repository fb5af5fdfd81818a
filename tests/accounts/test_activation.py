"""Activation, the first sign-in (PRODUCT.md rules 6 and 7).

"egy e-mailben küldött kód segítségével, öt napon belül aktiválnia kell":
username + initial password + the emailed code, within five days; a few wrong
codes revoke it; and "jelszavát ... első bejelentkezésekor módosítani köteles":
no agency gets anything until the citizen has chosen a password.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from idp.accounts import gate
from idp.accounts.errors import AccountError
from idp.accounts.records import ActivationCode
from idp.accounts.states import AccountState
from idp.audit import events
from idp.lifecycle import citizen, registration

from ..conftest import make_settings
from ..support.lifecycle import (
    NEW_PASSWORD,
    make_officer,
    register_in_person,
    registration_data,
)


@pytest.fixture
def sheet(rt, ctx):
    return register_in_person(rt, ctx)


def activate(ctx, rt, sheet, code=None, password=None, username=None):
    code = code if code is not None else ctx.notifier.code_for(sheet.account.email)
    return citizen.activate(ctx, username or sheet.username, password or sheet.initial_password, code, rt.now())


def refused(call) -> str:
    with pytest.raises(AccountError) as caught:
        call()
    return caught.value.reason


def test_activation_needs_the_code_within_five_days(ctx, rt, db, sheet):
    rt.clock.advance(days=5)
    assert refused(lambda: activate(ctx, rt, sheet)) == "activation_code_expired"
    rt.clock.advance(seconds=-1)
    account = activate(ctx, rt, sheet)
    assert account.state is AccountState.ACTIVE and account.activated_at == rt.now()
    assert account.valid_until == rt.now() + rt.policy.account_validity
    assert account.email_verified


def test_the_activation_window_is_a_setting(database_url, keys_dir, clock):
    from idp.app import create_app

    app = create_app(make_settings(database_url, keys_dir, policy={"activation_days": 2, "activation_code_attempts": 3}),
                     clock=clock)
    rt = app.extensions["idp"]
    assert rt.policy.activation_window == timedelta(days=2) and rt.policy.activation_attempts == 3


def test_a_code_is_refused_after_five_wrong_attempts(ctx, rt, db, sheet):
    for left in (4, 3, 2, 1):
        with pytest.raises(AccountError) as caught:
            activate(ctx, rt, sheet, code="WRNG-CODE")
        assert caught.value.reason == "activation_code_wrong" and caught.value.details["attempts_left"] == left
    assert refused(lambda: activate(ctx, rt, sheet, code="WRNG-CODE")) == "activation_code_exhausted"
    # The right code no longer helps: the registration needs a new code from an office.
    assert refused(lambda: activate(ctx, rt, sheet)) == "activation_code_exhausted"
    code = db.session.scalar(select(ActivationCode).where(ActivationCode.account_id == sheet.account.id))
    assert code.attempts == 5 and code.revoked_at is not None and code.used_at is None
    issued = registration.issue_activation_code(ctx, make_officer(rt).officer, sheet.identifier, rt.now())
    assert issued.expires_at == rt.now() + timedelta(days=5)
    assert activate(ctx, rt, sheet).state is AccountState.ACTIVE


def test_a_new_code_replaces_the_earlier_one(ctx, rt, db, sheet):
    old = ctx.notifier.code_for(sheet.account.email)
    registration.issue_activation_code(ctx, make_officer(rt).officer, sheet.identifier, rt.now())
    assert refused(lambda: activate(ctx, rt, sheet, code=old)) == "activation_code_wrong"
    assert activate(ctx, rt, sheet).state is AccountState.ACTIVE


def test_the_code_is_typed_as_the_citizen_likes(ctx, rt, sheet):
    code = ctx.notifier.code_for(sheet.account.email)
    assert activate(ctx, rt, sheet, code=" " + code.replace("-", " ").lower()).state is AccountState.ACTIVE


@pytest.mark.parametrize("wrong", ["password", "username"])
def test_a_wrong_username_or_initial_password_is_one_reason_and_costs_no_code_attempt(wrong, ctx, rt, db, sheet):
    kwargs = {"password": "not-the-initial-password"} if wrong == "password" else {"username": "nobody.here"}
    assert refused(lambda: activate(ctx, rt, sheet, code="WRNG-CODE", **kwargs)) == "activation_failed"
    code = db.session.scalar(select(ActivationCode).where(ActivationCode.account_id == sheet.account.id))
    assert code.attempts == 0


def test_a_code_is_used_once(ctx, rt, sheet):
    activate(ctx, rt, sheet)
    assert refused(lambda: activate(ctx, rt, sheet)) == "activation_failed"


def test_an_active_account_answers_as_a_wrong_password_does(ctx, rt, sheet):
    """Issue 13 (a suspicion, confirmed): ``already_activated`` told a right password from a wrong one."""
    activate(ctx, rt, sheet)
    right = refused(lambda: activate(ctx, rt, sheet))
    wrong = refused(lambda: activate(ctx, rt, sheet, password="not-the-initial-password"))
    assert right == wrong == "activation_failed"


def test_activation_leaves_the_initial_password_to_be_changed_before_any_agency(ctx, rt, db, sheet, mail):
    account = activate(ctx, rt, sheet)
    assert gate.account_reasons(account, rt.now(), rt.policy) == [gate.Reason.INITIAL_PASSWORD]
    citizen.change_password(ctx, account, sheet.initial_password, NEW_PASSWORD, rt.now())
    assert gate.account_reasons(account, rt.now(), rt.policy) == []
    assert not account.must_change_password and account.password_changed_at == rt.now()
    assert [s.template for s in mail.sent] == ["activation_code", "registration_completed"]
    assert [e.event for e in events(db.session, account_id=account.id)][:2] == ["password_changed", "activated"]


def test_a_later_password_change_is_told_by_mail_and_audited(ctx, rt, db, sheet, mail):
    account = activate(ctx, rt, sheet)
    citizen.change_password(ctx, account, sheet.initial_password, NEW_PASSWORD, rt.now())
    rt.clock.advance(days=1)
    citizen.change_password(ctx, account, NEW_PASSWORD, "nyári eső után szivárvány 77", rt.now())
    assert mail.of("password_changed")[0].context["when"] == rt.now()
    changes = events(db.session, account_id=account.id, event="password_changed")
    assert [e.details["initial"] for e in changes] == [False, True]
    assert refused(lambda: citizen.change_password(ctx, account, "wrong current password", "x" * 20, rt.now())) \
        == "password_wrong"


def test_a_pending_pre_registration_cannot_be_activated(ctx, rt):
    account = registration.pre_register(ctx, registration_data(), rt.now())
    assert refused(lambda: citizen.activate(ctx, account.username, "anything at all here", "AAAA-BBBB", rt.now())) \
        == "activation_failed"
