"""Lifecycle states (idp/accounts/states.py): one explicit state, a table of legal transitions, and
one writer, ``transition``, that checks the table and stamps the time (STYLE.md, "State has one
writer"). Pure: plain model objects, no app, no database; each pair of states is its test id."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from idp.accounts import erasure
from idp.accounts.models import Account
from idp.accounts.states import (
    ENTRY_STATES,
    LIVE_STATES,
    TRANSITIONS,
    AccountState,
    IllegalTransition,
    can_transition,
    check_transition,
    transition,
)

S = AccountState
NOW = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=3)

LEGAL = [
    (S.PENDING_VERIFICATION, S.AWAITING_ACTIVATION),
    (S.PENDING_VERIFICATION, S.LAPSED),
    (S.PENDING_VERIFICATION, S.DELETED),
    (S.AWAITING_ACTIVATION, S.ACTIVE),
    (S.AWAITING_ACTIVATION, S.LAPSED),
    (S.AWAITING_ACTIVATION, S.DELETED),
    (S.ACTIVE, S.EXPIRED),
    (S.ACTIVE, S.DELETED),
]
ILLEGAL = [(a, b) for a in S for b in S if (a, b) not in LEGAL]
legal = pytest.mark.parametrize(("current", "target"), LEGAL, ids=[f"{a}->{b}" for a, b in LEGAL])
illegal = pytest.mark.parametrize(("current", "target"), ILLEGAL, ids=[f"{a}->{b}" for a, b in ILLEGAL])


def account_in(state: AccountState) -> Account:
    return Account(state=state, state_changed_at=NOW, updated_at=NOW, family_name="Kovács")


def written(account: Account) -> tuple:
    return account.state, account.state_changed_at, account.updated_at


@legal
def test_legal_transition(current, target):
    assert can_transition(current, target)
    check_transition(current, target)


@illegal
def test_illegal_transition(current, target):
    assert not can_transition(current, target)
    with pytest.raises(IllegalTransition) as info:
        check_transition(current, target)
    assert info.value.reason == "illegal_transition"
    assert (info.value.current, info.value.target) == (current, target)


@legal
def test_transition_sets_the_state_and_stamps_when(current, target):
    account = account_in(current)
    transition(account, target, LATER)
    assert written(account) == (target, LATER, LATER)


@illegal
def test_transition_refuses_an_illegal_move_and_changes_nothing(current, target):
    account = account_in(current)
    with pytest.raises(IllegalTransition) as info:
        transition(account, target, LATER)
    assert (info.value.current, info.value.target) == (current, target)
    assert written(account) == (current, NOW, NOW)


@pytest.mark.parametrize("target", sorted(ENTRY_STATES), ids=[f"new->{s}" for s in sorted(ENTRY_STATES)])
def test_a_new_record_enters_through_the_writer(target):
    account = Account()
    transition(account, target, NOW)
    assert written(account) == (target, NOW, NOW)


NOT_ENTRIES = sorted(set(S) - ENTRY_STATES)


@pytest.mark.parametrize("target", NOT_ENTRIES, ids=[f"new->{s}" for s in NOT_ENTRIES])
def test_a_new_record_cannot_start_halfway_or_ended(target):
    account = Account()
    with pytest.raises(IllegalTransition) as info:
        transition(account, target, NOW)
    assert (info.value.current, info.value.target) == (None, target)
    assert written(account) == (None, None, None)


def test_registrations_start_pending_and_only_a_test_account_starts_active():
    assert ENTRY_STATES == {S.PENDING_VERIFICATION, S.ACTIVE}


def test_every_state_has_a_row_and_ended_states_are_final():
    assert set(TRANSITIONS) == set(S)
    for ended in (S.LAPSED, S.EXPIRED, S.DELETED):
        assert TRANSITIONS[ended] == frozenset()
        assert ended not in LIVE_STATES


def test_live_states_are_exactly_those_not_erased():
    final = {state for state, targets in TRANSITIONS.items() if not targets}
    assert final == erasure.ENDED_STATES
    assert LIVE_STATES == set(S) - final


def test_active_is_reached_only_by_activation():
    """Reactivation in person (the 2009 rule) gives a new initial password; the account stays ACTIVE."""
    assert {a for a in S if can_transition(a, S.ACTIVE)} == {S.AWAITING_ACTIVATION}


def test_erasure_ends_the_account_through_the_writer():
    account = account_in(S.ACTIVE)
    erasure.erase(account, LATER, S.EXPIRED)
    assert written(account) == (S.EXPIRED, LATER, LATER)
    assert account.ended_at == LATER and account.family_name is None


def test_an_ended_account_is_not_erased_again():
    account = account_in(S.LAPSED)
    with pytest.raises(IllegalTransition):
        erasure.erase(account, LATER, S.DELETED)
    assert written(account) == (S.LAPSED, NOW, NOW)
    assert account.family_name == "Kovács" and account.ended_at is None
