"""Validity is policy (PRODUCT.md rule 8): the seed's five-year extendable account, and the rule
in force since 2009 (no end date, a two-year password renewable within 60 days of its expiry,
reactivation in person beyond that), by configuration alone.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from idp.accounts import activation, gate
from idp.accounts.errors import AccountError
from idp.accounts.models import Account
from idp.accounts.policy import ValidityPolicy
from idp.accounts.states import AccountState
from idp.accounts.validity import is_reactivation_due
from idp.audit import events
from idp.security.passwords import Passwords
from idp.lifecycle import citizen, office

from ..conftest import make_settings
from ..support.lifecycle import NEW_PASSWORD, RecordingNotifier, activated, context, identity_card, make_officer

RULE_2009 = {"account_validity_days": 0, "password_max_age_days": 730, "password_renewal_grace_days": 60}
rule_2009 = pytest.mark.parametrize("policy_settings", [RULE_2009], ids=["rule_2009"])
LATER_PASSWORD = "őszi levél hull a fáról 1848"
FAST_PASSWORDS = Passwords(time_cost=1, memory_kib=8, parallelism=1)


@pytest.fixture
def policy_settings():
    return {}


@pytest.fixture
def settings(database_url, keys_dir, policy_settings):
    return make_settings(database_url, keys_dir, policy=policy_settings)


@pytest.fixture
def ctx(rt):
    return context(rt, RecordingNotifier())


def refused(call) -> str:
    with pytest.raises(AccountError) as caught:
        call()
    return caught.value.reason


# -- the seed's rule -------------------------------------------------------------


def test_the_account_is_valid_five_years_from_activation(ctx, rt):
    account, _ = activated(rt, ctx)
    assert account.valid_until == rt.now() + timedelta(days=5 * 365)


def test_extension_sets_a_full_period_from_now(ctx, rt, db):
    account, _ = activated(rt, ctx)
    before = account.valid_until
    rt.clock.advance(days=4 * 365)
    after = citizen.extend_validity(ctx, account, rt.now())
    assert after == rt.now() + timedelta(days=5 * 365) and account.valid_until == after
    [event] = events(db.session, account_id=account.id, event="validity_extended")
    assert event.details == {"before": before.isoformat(), "after": after.isoformat()}
    assert gate.account_reasons(account, rt.now(), rt.policy) == []


def test_an_account_whose_validity_ended_cannot_be_extended(ctx, rt):
    account, _ = activated(rt, ctx)
    rt.clock.advance(days=5 * 365)
    assert refused(lambda: citizen.extend_validity(ctx, account, rt.now())) == "validity_ended"
    assert gate.Reason.VALIDITY_ENDED in gate.account_reasons(account, rt.now(), rt.policy)


def test_the_initial_password_must_be_changed_before_an_extension(ctx, rt):
    account, _ = activated(rt, ctx, change_password=False)
    assert refused(lambda: citizen.extend_validity(ctx, account, rt.now())) == "initial_password"


# -- the rule in force since 2009 --------------------------------------------------


@rule_2009
def test_under_the_2009_rule_the_account_has_no_end_and_extension_does_not_apply(ctx, rt):
    account, _ = activated(rt, ctx)
    assert account.valid_until is None
    assert refused(lambda: citizen.extend_validity(ctx, account, rt.now())) == "extension_not_applicable"
    rt.clock.advance(days=729)
    assert gate.account_reasons(account, rt.now(), rt.policy) == []


@rule_2009
def test_under_the_2009_rule_an_expired_password_is_renewed_within_the_grace(ctx, rt, db):
    account, password = activated(rt, ctx)
    rt.clock.advance(days=730 + 59)
    assert gate.account_reasons(account, rt.now(), rt.policy) == [gate.Reason.PASSWORD_EXPIRED]
    citizen.change_password(ctx, account, password, LATER_PASSWORD, rt.now())
    assert gate.account_reasons(account, rt.now(), rt.policy) == []
    assert account.password_changed_at == rt.now()


@rule_2009
def test_under_the_2009_rule_beyond_the_grace_the_citizen_reactivates_in_person(ctx, rt, db):
    account, password = activated(rt, ctx)
    rt.clock.advance(days=730 + 60)
    assert gate.account_reasons(account, rt.now(), rt.policy) == [gate.Reason.REACTIVATION_REQUIRED]
    assert refused(lambda: citizen.change_password(ctx, account, password, LATER_PASSWORD, rt.now())) \
        == "reactivation_required"
    any_office = make_officer(rt)  # not the registering office: reactivation is at any office
    sheet = office.reactivate(ctx, any_office.officer, account.identifier, identity_card(rt.now().date()), rt.now())
    assert sheet.initial_password and sheet.initial_password not in repr(sheet)
    assert gate.account_reasons(account, rt.now(), rt.policy) == [gate.Reason.INITIAL_PASSWORD]
    citizen.change_password(ctx, account, sheet.initial_password, LATER_PASSWORD, rt.now())
    assert gate.account_reasons(account, rt.now(), rt.policy) == []
    assert account.state is AccountState.ACTIVE
    [event] = events(db.session, account_id=account.id, event="account_reactivated")
    assert event.office_id == any_office.officer.office_id


@rule_2009
def test_reactivation_is_refused_when_the_password_has_not_expired(ctx, rt):
    account, _ = activated(rt, ctx)
    assert refused(lambda: office.reactivate(ctx, make_officer(rt).officer, account.identifier,
                                             identity_card(rt.now().date()), rt.now())) == "reactivation_not_needed"


def test_a_password_change_needs_the_current_password_and_a_new_one(ctx, rt):
    account, password = activated(rt, ctx)
    assert refused(lambda: citizen.change_password(ctx, account, password, password, rt.now())) == "password_unchanged"
    assert refused(lambda: citizen.change_password(ctx, account, password, "short", rt.now())) == "password_too_short"
    assert password == NEW_PASSWORD


# -- "reactivation is due": one pure rule for the gate, the password change, the office ----------

NOW = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
POLICY_2009 = ValidityPolicy.from_days(0, 730, 60, 5, [30, 7])
SEED = ValidityPolicy()


def an_account(state=AccountState.ACTIVE, *, days_past_expiry: int = 0, initial_password: bool = False) -> Account:
    return Account(
        state=state, must_change_password=initial_password, valid_until=None,
        password_changed_at=NOW - timedelta(days=730 + days_past_expiry),
    )


@pytest.mark.parametrize(
    ("days_past_expiry", "due"),
    [
        pytest.param(-1, False, id="not_due-password_valid"),
        pytest.param(0, False, id="not_due-expired_today"),
        pytest.param(59, False, id="not_due-day_59_of_the_grace"),
        pytest.param(60, True, id="due-day_60"),
        pytest.param(400, True, id="due-day_400"),
    ],
)
def test_reactivation_is_due_from_the_end_of_the_renewal_grace(days_past_expiry, due):
    assert is_reactivation_due(an_account(days_past_expiry=days_past_expiry), NOW, POLICY_2009) is due


NOT_DUE = {
    "initial_password": (an_account(days_past_expiry=400, initial_password=True), POLICY_2009),
    "seed_policy_has_no_password_expiry": (an_account(days_past_expiry=400), SEED),
    **{
        f"state_{state}": (an_account(state, days_past_expiry=400), POLICY_2009)
        for state in AccountState if state is not AccountState.ACTIVE
    },
}


@pytest.mark.parametrize(("account", "policy"), NOT_DUE.values(), ids=[f"not_due-{k}" for k in NOT_DUE])
def test_reactivation_is_not_due(account, policy):
    assert not is_reactivation_due(account, NOW, policy)


AGREEMENT = {
    **{f"day_{d}": an_account(days_past_expiry=d) for d in (-1, 0, 59, 60, 400)},
    "initial_password": an_account(days_past_expiry=400, initial_password=True),
    "awaiting_activation": an_account(AccountState.AWAITING_ACTIVATION, days_past_expiry=400),
    "deleted": an_account(AccountState.DELETED, days_past_expiry=400),
}


@pytest.mark.parametrize("account", AGREEMENT.values(), ids=list(AGREEMENT))
def test_the_gate_and_reactivation_follow_the_one_rule(account):
    due = is_reactivation_due(account, NOW, POLICY_2009)
    assert (gate.Reason.REACTIVATION_REQUIRED in gate.account_reasons(account, NOW, POLICY_2009)) is due
    if due:
        assert activation.reactivate(None, FAST_PASSWORDS, account, NOW, POLICY_2009)
        assert account.must_change_password and account.password_changed_at == NOW
        assert not is_reactivation_due(account, NOW, POLICY_2009)
    else:
        with pytest.raises(AccountError) as refused_:
            activation.reactivate(None, FAST_PASSWORDS, account, NOW, POLICY_2009)
        assert refused_.value.reason == "reactivation_not_needed"
