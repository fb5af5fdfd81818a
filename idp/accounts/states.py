"""Lifecycle of an account (PRODUCT.md, "Lifecycle rules"), one explicit state.

::

    PENDING_VERIFICATION ──officer verifies identity, statement signed──┐
    (online pre-registration)                                           ▼
    in person / e-signature ───────────────────────────────> AWAITING_ACTIVATION
                                                               │            │
                                      first sign-in with code  │            │ 5 days pass
                                      (rule 6)                 ▼            ▼
                                                            ACTIVE        LAPSED (data erased)
                                                     │  ▲      │   │
                          password expired beyond    │  │      │   └─ validity ends ─> EXPIRED (data erased)
                          the renewal grace (2009)   ▼  │ reactivated in person
                                                    LOCKED
    any live state ── deletion at the registering office (rule 10) ──> DELETED (data erased)

Facts that are not states stay columns: ``must_change_password`` (rule 7),
``valid_until`` (rule 8), ``registering_office_id`` (rule 9).
"""

from __future__ import annotations

import enum


class AccountState(enum.StrEnum):
    PENDING_VERIFICATION = "pending_verification"
    AWAITING_ACTIVATION = "awaiting_activation"
    ACTIVE = "active"
    LOCKED = "locked"
    LAPSED = "lapsed"
    EXPIRED = "expired"
    DELETED = "deleted"


S = AccountState

TRANSITIONS: dict[AccountState, frozenset[AccountState]] = {
    S.PENDING_VERIFICATION: frozenset({S.AWAITING_ACTIVATION, S.LAPSED, S.DELETED}),
    S.AWAITING_ACTIVATION: frozenset({S.ACTIVE, S.LAPSED, S.DELETED}),
    S.ACTIVE: frozenset({S.LOCKED, S.EXPIRED, S.DELETED}),
    S.LOCKED: frozenset({S.ACTIVE, S.EXPIRED, S.DELETED}),
    S.LAPSED: frozenset(),
    S.EXPIRED: frozenset(),
    S.DELETED: frozenset(),
}

#: States whose personal data is still held; at most one such account per natural person.
LIVE_STATES = frozenset({S.PENDING_VERIFICATION, S.AWAITING_ACTIVATION, S.ACTIVE, S.LOCKED})


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
