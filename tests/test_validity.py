"""Validity is policy (PRODUCT.md rule 8): the seed's five-year extendable account, and the rule
in force since 2009 (no end date, a two-year password renewable within 60 days of its expiry,
reactivation in person beyond that), by configuration alone.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from idp.accounts import gate
from idp.accounts.errors import AccountError
from idp.accounts.states import AccountState
from idp.audit import events
from idp.lifecycle import citizen, office

from .conftest import make_settings
from .support.lifecycle import NEW_PASSWORD, RecordingNotifier, activated, context, identity_card, make_officer

RULE_2009 = {"account_validity_days": 0, "password_max_age_days": 730, "password_renewal_grace_days": 60}
rule_2009 = pytest.mark.parametrize("policy_settings", [RULE_2009], ids=["rule_2009"])
LATER_PASSWORD = "őszi levél hull a fáról 1848"


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
