"""Lifecycle of an account (PRODUCT.md, "Lifecycle rules"), one explicit state.

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

No LOCKED state. The 2009 rule's "beyond that the citizen must reactivate in
person at an office" (rule 8) is a fact of dates and policy, not an event: the
password's age against ``password_max_age`` and ``password_renewal_grace``. The
gate computes it at every checkpoint; a stored state would need a job to set it,
would lag the gate between runs, and would go stale when the operator changes
the durations. Reactivation in person gives a new initial password and the
account stays ACTIVE. Nothing else suspends an account: sign-in throttling
locks nobody out for good (SECURITY.md), and an ended account is erased.

Facts that are not states stay columns: ``must_change_password`` (rule 7),
``valid_until`` (rule 8), ``registering_office_id`` (rule 9).
"""

from __future__ import annotations

import enum


class AccountState(enum.StrEnum):
    PENDING_VERIFICATION = "pending_verification"
    AWAITING_ACTIVATION = "awaiting_activation"
    ACTIVE = "active"
    LAPSED = "lapsed"
    EXPIRED = "expired"
    DELETED = "deleted"


S = AccountState

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
    reason = "illegal_transition"

    def __init__(self, current: AccountState, target: AccountState):
        super().__init__(f"{current} -> {target}")
        self.current = current
        self.target = target


def can_transition(current: AccountState, target: AccountState) -> bool:
    return target in TRANSITIONS[current]


def check_transition(current: AccountState, target: AccountState) -> None:
    if not can_transition(current, target):
        raise IllegalTransition(current, target)
