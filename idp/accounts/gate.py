"""The gate before every token (PRODUCT.md, "The gate before every token").

One pure function, called at the authorization endpoint, by the code and
refresh grants when they authenticate the user, and behind userinfo and
introspection. It returns every reason that stops the citizen, as stable codes
that double as i18n message ids, audit reasons and test ids; each reason has a
page that fixes it (``idp.web``) and a protocol error for ``prompt=none``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from . import assurance, validity
from .models import Account
from .policy import ValidityPolicy
from .states import AccountState


class Reason(enum.StrEnum):
    NOT_ACTIVATED = "not_activated"
    ACCOUNT_ENDED = "account_ended"
    INITIAL_PASSWORD = "initial_password"
    VALIDITY_ENDED = "validity_ended"
    PASSWORD_EXPIRED = "password_expired"
    REACTIVATION_REQUIRED = "reactivation_required"
    LOGIN_REQUIRED = "login_required"
    ACR_INSUFFICIENT = "acr_insufficient"


#: Reasons about the account itself, as opposed to how the citizen signed in.
ACCOUNT_REASONS = frozenset(Reason) - {Reason.LOGIN_REQUIRED, Reason.ACR_INSUFFICIENT}


@dataclass(frozen=True)
class Authentication:
    """How the citizen signed in, as the sign-in session records it."""

    auth_time: datetime
    acr: str
    amr: tuple[str, ...]


@dataclass(frozen=True)
class Requirement:
    """What the agency asked for: ``max_age``, ``prompt=login``, ``acr_values``.

    ``max_age`` counts back from ``asked_at``, when the agency's request arrived (OIDC Core
    §3.1.2.1), so a sign-in made for that request satisfies it however long it took, and a
    session older than the request does not become acceptable by coming back later.
    """

    max_age: int | None = None
    fresh_login: bool = False
    min_acr: str | None = None
    asked_at: datetime | None = None


@dataclass(frozen=True)
class Decision:
    reasons: tuple[Reason, ...]

    @property
    def allowed(self) -> bool:
        return not self.reasons

    @property
    def account_reasons(self) -> tuple[Reason, ...]:
        return tuple(r for r in self.reasons if r in ACCOUNT_REASONS)


def account_reasons(account: Account, now: datetime, policy: ValidityPolicy) -> list[Reason]:
    state = account.state
    if state in (AccountState.LAPSED, AccountState.EXPIRED, AccountState.DELETED):
        return [Reason.ACCOUNT_ENDED]
    if state in (AccountState.PENDING_VERIFICATION, AccountState.AWAITING_ACTIVATION):
        return [Reason.NOT_ACTIVATED]
    reasons: list[Reason] = []
    if account.valid_until is not None and account.valid_until <= now:
        reasons.append(Reason.VALIDITY_ENDED)
    if account.must_change_password:
        reasons.append(Reason.INITIAL_PASSWORD)
    if validity.is_reactivation_due(account, now, policy):
        reasons.append(Reason.REACTIVATION_REQUIRED)
    elif validity.is_password_expired(account, now, policy):
        reasons.append(Reason.PASSWORD_EXPIRED)
    return reasons


def authentication_reasons(
    authentication: Authentication | None, requirement: Requirement, now: datetime
) -> list[Reason]:
    if authentication is None or requirement.fresh_login:
        return [Reason.LOGIN_REQUIRED]
    asked_at = requirement.asked_at or now
    if requirement.max_age is not None and asked_at - authentication.auth_time > timedelta(seconds=requirement.max_age):
        return [Reason.LOGIN_REQUIRED]
    if not assurance.meets(authentication.acr, requirement.min_acr):
        return [Reason.ACR_INSUFFICIENT]
    return []


def evaluate(
    account: Account | None,
    now: datetime,
    policy: ValidityPolicy,
    authentication: Authentication | None = None,
    requirement: Requirement | None = None,
) -> Decision:
    """Decide whether an agency may receive a code, token or userinfo for ``account``.

    Without ``requirement`` only the account is judged (token, refresh, userinfo,
    introspection: the sign-in was judged when the code was issued).
    """
    reasons: list[Reason] = []
    if requirement is not None:
        reasons += authentication_reasons(authentication, requirement, now)
    if account is None:
        reasons.append(Reason.ACCOUNT_ENDED)
    else:
        reasons += account_reasons(account, now, policy)
    return Decision(tuple(dict.fromkeys(reasons)))
