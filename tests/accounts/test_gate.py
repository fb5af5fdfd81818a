"""The gate before every token, as a pure rule (PRODUCT.md, "The gate before every token").

No app, no database: accounts are plain model objects, time and policy are
parameters. Every reason code is a test id, so a failure names the rule.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from idp.accounts import assurance
from idp.accounts.gate import Authentication, Reason, Requirement, evaluate
from idp.accounts.models import Account
from idp.accounts.policy import ValidityPolicy
from idp.accounts.states import AccountState

NOW = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
SEED = ValidityPolicy()
RULE_2009 = ValidityPolicy.from_days(0, 730, 60, 5, [30, 7])
S = AccountState


def account(
    state: AccountState = S.ACTIVE,
    *,
    initial_password: bool = False,
    valid_until: datetime | None = NOW + timedelta(days=365),
    password_changed_at: datetime | None = NOW - timedelta(days=1),
) -> Account:
    return Account(
        state=state,
        must_change_password=initial_password,
        valid_until=valid_until,
        password_changed_at=password_changed_at,
    )


def signed_in(ago: timedelta = timedelta(minutes=5), amr=("pwd",)) -> Authentication:
    return Authentication(auth_time=NOW - ago, acr=assurance.level_for(amr, assurance.AssurancePolicy()), amr=tuple(amr))


# Each case: (account, policy, authentication, requirement) → the one reason expected.
STOPPED = [
    pytest.param(account(S.PENDING_VERIFICATION), SEED, None, None, Reason.NOT_ACTIVATED,
                 id="not_activated-pending_verification"),
    pytest.param(account(S.AWAITING_ACTIVATION), SEED, None, None, Reason.NOT_ACTIVATED,
                 id="not_activated-awaiting_activation"),
    pytest.param(account(S.LAPSED), SEED, None, None, Reason.ACCOUNT_ENDED, id="account_ended-lapsed"),
    pytest.param(account(S.EXPIRED), SEED, None, None, Reason.ACCOUNT_ENDED, id="account_ended-expired"),
    pytest.param(account(S.DELETED), SEED, None, None, Reason.ACCOUNT_ENDED, id="account_ended-deleted"),
    pytest.param(None, SEED, None, None, Reason.ACCOUNT_ENDED, id="account_ended-no_account"),
    pytest.param(account(initial_password=True), SEED, None, None, Reason.INITIAL_PASSWORD, id="initial_password"),
    pytest.param(account(valid_until=NOW - timedelta(seconds=1)), SEED, None, None, Reason.VALIDITY_ENDED,
                 id="validity_ended"),
    pytest.param(account(valid_until=NOW), SEED, None, None, Reason.VALIDITY_ENDED, id="validity_ended-at_the_instant"),
    pytest.param(account(valid_until=None, password_changed_at=NOW - timedelta(days=731)), RULE_2009, None, None,
                 Reason.PASSWORD_EXPIRED, id="password_expired"),
    pytest.param(account(valid_until=None, password_changed_at=NOW - timedelta(days=730 + 61)), RULE_2009, None, None,
                 Reason.REACTIVATION_REQUIRED, id="reactivation_required"),
    pytest.param(account(), SEED, None, Requirement(), Reason.LOGIN_REQUIRED, id="login_required-no_authentication"),
    pytest.param(account(), SEED, signed_in(), Requirement(fresh_login=True), Reason.LOGIN_REQUIRED,
                 id="login_required-fresh_login"),
    pytest.param(account(), SEED, signed_in(timedelta(seconds=301)), Requirement(max_age=300), Reason.LOGIN_REQUIRED,
                 id="login_required-max_age_exceeded"),
    pytest.param(account(), SEED, signed_in(), Requirement(min_acr=assurance.SUBSTANTIAL), Reason.ACR_INSUFFICIENT,
                 id="acr_insufficient"),
]


@pytest.mark.parametrize(("acct", "policy", "authentication", "requirement", "reason"), STOPPED)
def test_gate_stops_with_reason(acct, policy, authentication, requirement, reason):
    decision = evaluate(acct, NOW, policy, authentication, requirement)
    assert not decision.allowed
    assert decision.reasons == (reason,)


def test_reason_codes_are_stable_snake_case_strings():
    assert {r.value for r in Reason} == {
        "not_activated", "account_ended", "initial_password", "validity_ended",
        "password_expired", "reactivation_required", "login_required", "acr_insufficient",
    }


def test_active_account_passes():
    assert evaluate(account(), NOW, SEED).allowed


def test_active_account_passes_with_a_met_requirement():
    requirement = Requirement(max_age=600, min_acr=assurance.LOW)
    decision = evaluate(account(), NOW, SEED, signed_in(timedelta(seconds=600)), requirement)
    assert decision.allowed and decision.reasons == ()


def test_second_factor_meets_a_low_request():
    decision = evaluate(account(), NOW, SEED, signed_in(amr=("pwd", "otp")), Requirement(min_acr=assurance.LOW))
    assert decision.allowed


def test_second_factor_meets_a_substantial_request():
    requirement = Requirement(min_acr=assurance.SUBSTANTIAL)
    assert evaluate(account(), NOW, SEED, signed_in(amr=("pwd", "otp")), requirement).allowed


def test_without_requirement_only_the_account_is_judged():
    """Token, refresh, userinfo, introspection: the sign-in was judged when the code was issued."""
    assert evaluate(account(), NOW, SEED, authentication=None, requirement=None).allowed


def test_every_reason_is_reported_together():
    acct = account(initial_password=True, valid_until=NOW - timedelta(days=1))
    decision = evaluate(acct, NOW, SEED, None, Requirement())
    assert set(decision.reasons) == {Reason.LOGIN_REQUIRED, Reason.VALIDITY_ENDED, Reason.INITIAL_PASSWORD}
    assert set(decision.account_reasons) == {Reason.VALIDITY_ENDED, Reason.INITIAL_PASSWORD}


def test_an_ended_account_has_no_other_account_reason():
    acct = account(S.DELETED, initial_password=True, valid_until=NOW - timedelta(days=1))
    assert evaluate(acct, NOW, SEED).reasons == (Reason.ACCOUNT_ENDED,)


# The seed's rule (rule 8, the default): valid five years from recording, extendable.


def test_seed_policy_is_five_years_from_recording():
    recorded = datetime(2024, 3, 1, tzinfo=UTC)
    assert SEED.valid_until(recorded) == recorded + timedelta(days=5 * 365)
    assert SEED.password_expires_at(recorded) is None


def test_seed_policy_account_passes_until_validity_and_stops_at_it():
    recorded = NOW - timedelta(days=100)
    acct = account(valid_until=SEED.valid_until(recorded), password_changed_at=recorded)
    end = acct.valid_until
    assert evaluate(acct, end - timedelta(seconds=1), SEED).allowed
    assert evaluate(acct, end, SEED).reasons == (Reason.VALIDITY_ENDED,)


def test_seed_policy_has_no_password_expiry():
    acct = account(password_changed_at=NOW - timedelta(days=4 * 365))
    assert evaluate(acct, NOW, SEED).allowed


def test_seed_policy_extension_moves_the_end():
    acct = account(valid_until=NOW - timedelta(days=1))
    acct.valid_until = SEED.valid_until(NOW)
    assert evaluate(acct, NOW + timedelta(days=4 * 365), SEED).allowed


# The rule since 2009, by configuration alone: no end date, password two years, 60 days' grace.


def test_2009_rule_has_no_account_end_date():
    assert RULE_2009.account_validity is None
    assert RULE_2009.valid_until(NOW) is None
    acct = account(valid_until=None, password_changed_at=NOW - timedelta(days=10))
    assert evaluate(acct, NOW + timedelta(days=700), RULE_2009).allowed


def test_2009_rule_password_valid_two_years():
    changed = NOW - timedelta(days=730)
    assert RULE_2009.password_expires_at(changed) == NOW
    acct = account(valid_until=None, password_changed_at=changed)
    assert evaluate(acct, NOW - timedelta(seconds=1), RULE_2009).allowed
    assert evaluate(acct, NOW, RULE_2009).reasons == (Reason.PASSWORD_EXPIRED,)


@pytest.mark.parametrize(
    ("days_past_expiry", "reason"),
    [
        pytest.param(0, Reason.PASSWORD_EXPIRED, id="password_expired-day_0"),
        pytest.param(59, Reason.PASSWORD_EXPIRED, id="password_expired-day_59"),
        pytest.param(60, Reason.REACTIVATION_REQUIRED, id="reactivation_required-day_60"),
        pytest.param(400, Reason.REACTIVATION_REQUIRED, id="reactivation_required-day_400"),
    ],
)
def test_2009_rule_renewal_within_60_days_reactivation_after(days_past_expiry, reason):
    acct = account(valid_until=None, password_changed_at=NOW - timedelta(days=730 + days_past_expiry))
    assert evaluate(acct, NOW, RULE_2009).reasons == (reason,)


def test_2009_rule_renewal_clears_the_expiry():
    acct = account(valid_until=None, password_changed_at=NOW - timedelta(days=740))
    acct.password_changed_at = NOW
    assert evaluate(acct, NOW, RULE_2009).allowed


def test_2009_rule_initial_password_is_reported_instead_of_expiry():
    acct = account(valid_until=None, initial_password=True, password_changed_at=NOW - timedelta(days=800))
    assert evaluate(acct, NOW, RULE_2009).reasons == (Reason.INITIAL_PASSWORD,)


def test_from_days_keeps_reminders_latest_first():
    policy = ValidityPolicy.from_days(0, 730, 60, 5, [7, 30])
    assert policy.reminders_before == (timedelta(days=30), timedelta(days=7))
    assert policy.activation_deadline(NOW) == NOW + timedelta(days=5)
