"""Lifecycle of an account (PRODUCT.md, "Lifecycle rules"), one explicit state with one writer.

::

    a registration: online, in person, or signed electronically (rule 1)
        │
        ▼
    PENDING_VERIFICATION ── not verified at an office in time ──────┐
        │ identity verified, statement signed (rules 2, 4); in      │
        │ person and electronically in the same transaction         │
        ▼                                                           ▼
    AWAITING_ACTIVATION ── 5 days pass, no live code (rule 6) ──> LAPSED (data erased)
        │
        │ first sign-in with the emailed code (rule 6)
        ▼
    ACTIVE ◀── an agency's test account, made active at once by the operator
        │
        └── validity ends, not extended (rule 8) ──> EXPIRED (data erased)

    any live state ── deletion at the registering office (rule 10) ──> DELETED (data erased)

``transition`` is the only code that writes ``Account.state`` (STYLE.md, "State
has one writer"): it checks the table below, sets the state and stamps
``state_changed_at`` and ``updated_at``. A new record enters through it too, in
one of ``ENTRY_STATES``. ``tests/operations/test_architecture.py`` fails on any other write.

No LOCKED state. The 2009 rule's "beyond that the citizen must reactivate in
person at an office" (rule 8) is a fact of dates and policy, not an event: the
password's age against ``password_max_age`` and ``password_renewal_grace``,
which ``validity.is_reactivation_due`` computes for the gate at every checkpoint
and for the office. A stored state would need a job to set it, would lag the
gate between runs, and would go stale when the operator changes the durations. Reactivation in person gives a new initial password and the
account stays ACTIVE. Nothing else suspends an account: sign-in throttling
locks nobody out for good (SECURITY.md), and an ended account is erased.

Facts that are not states stay columns: ``must_change_password`` (rule 7),
``valid_until`` (rule 8), ``registering_office_id`` (rule 9).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Protocol


class Stateful(Protocol):
    """What ``transition`` writes: an account (``idp.accounts.models.Account``, which imports this module)."""

    state: AccountState | None
    state_changed_at: datetime | None
    updated_at: datetime | None


class AccountState(enum.StrEnum):
    PENDING_VERIFICATION = "pending_verification"
    AWAITING_ACTIVATION = "awaiting_activation"
    ACTIVE = "active"
    LAPSED = "lapsed"
    EXPIRED = "expired"
    DELETED = "deleted"


S = AccountState

#: The states a new record starts in: every registration starts PENDING_VERIFICATION (one made
#: whole in one sitting is verified and completed in the same transaction); an agency's test
#: account is made ACTIVE at once by the operator (``registration.create_test_citizen``).
ENTRY_STATES = frozenset({S.PENDING_VERIFICATION, S.ACTIVE})

TRANSITIONS: dict[AccountState, frozenset[AccountState]] = {
    S.PENDING_VERIFICATION: frozenset({S.AWAITING_ACTIVATION, S.LAPSED, S.DELETED}),
    S.AWAITING_ACTIVATION: frozenset({S.ACTIVE, S.LAPSED, S.DELETED}),
    S.ACTIVE: frozenset({S.EXPIRED, S.DELETED}),
    S.LAPSED: frozenset(),
    S.EXPIRED: frozenset(),
    S.DELETED: frozenset(),
}

#: States whose personal data is still held; at most one such account per natural person.
LIVE_STATES = frozenset({S.PENDING_VERIFICATION, S.AWAITING_ACTIVATION, S.ACTIVE})


class IllegalTransition(ValueError):
    """A state change the table does not allow: a programming error, never a citizen's."""

    reason = "illegal_transition"

    def __init__(self, current: AccountState | None, target: AccountState):
        super().__init__(f"{current} -> {target}")
        self.current = current
        self.target = target


def can_transition(current: AccountState | None, target: AccountState) -> bool:
    """``current`` None is a new record, which may enter only one of ``ENTRY_STATES``."""
    return target in (ENTRY_STATES if current is None else TRANSITIONS[current])


def check_transition(current: AccountState | None, target: AccountState) -> None:
    if not can_transition(current, target):
        raise IllegalTransition(current, target)


def transition(account: Stateful, target: AccountState, now: datetime) -> None:
    """Move ``account`` to ``target`` at ``now``: the one writer of ``account.state``.

    Raises ``IllegalTransition``, changing nothing, when the table does not allow the move.
    The caller owns the transaction.
    """
    check_transition(account.state, target)
    account.state = target
    account.state_changed_at = now
    account.updated_at = now
