"""What each protocol checkpoint answers when the gate refuses (PRODUCT.md, "The gate before every
token"): one table from the gate's reason code to the OAuth/OIDC error, per checkpoint. Every
refusal is counted by reason and checkpoint (``idp_gate_refusals``; ``login_required`` is no
refusal: the citizen has only to sign in).

The gate (``idp.accounts.gate``) decides; this table only names the answer. The authorization
endpoint without ``prompt=none`` answers no error: it leads the citizen to the page that fixes
the reason (``idp.oidc.authorize.judge``).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime

from idp import metrics
from idp.accounts import gate
from idp.accounts.gate import ACCOUNT_REASONS, Reason
from idp.accounts.models import Account
from idp.accounts.policy import ValidityPolicy


class Checkpoint(enum.StrEnum):
    #: ``/authorize`` with ``prompt=none`` (OIDC Core §3.1.2.6)
    SILENT_AUTHORIZE = "silent_authorize"
    #: the code grant at ``/token`` (RFC 6749 §5.2)
    TOKEN = "token"
    #: the refresh grant at ``/token`` (RFC 6749 §5.2)
    REFRESH = "refresh"
    #: ``/userinfo`` (RFC 6750 §3.1)
    USERINFO = "userinfo"
    #: ``/introspect`` answers ``{"active": false}`` (RFC 7662 §2.2), never an error
    INTROSPECTION = "introspection"


INACTIVE = "inactive"

#: The one table: checkpoint → gate reason → the error answered there.
ERRORS: dict[Checkpoint, dict[Reason, str]] = {
    Checkpoint.SILENT_AUTHORIZE: {
        Reason.LOGIN_REQUIRED: "login_required",
        Reason.ACR_INSUFFICIENT: "interaction_required",
        **{reason: "interaction_required" for reason in ACCOUNT_REASONS},
    },
    Checkpoint.TOKEN: {reason: "invalid_grant" for reason in ACCOUNT_REASONS},
    Checkpoint.REFRESH: {reason: "invalid_grant" for reason in ACCOUNT_REASONS},
    Checkpoint.USERINFO: {reason: "invalid_token" for reason in ACCOUNT_REASONS},
    Checkpoint.INTROSPECTION: {reason: INACTIVE for reason in ACCOUNT_REASONS},
}

#: The description sent with an error at the token endpoint (never the reason itself: an agency
#: learns that the account cannot be used, not why, which is the citizen's business).
DESCRIPTIONS = {
    Checkpoint.TOKEN: "The account cannot be used for e-government services now.",
    Checkpoint.REFRESH: "The account cannot be used for e-government services now.",
}


def error_for(checkpoint: Checkpoint, reasons: Iterable[Reason]) -> str | None:
    """The error at ``checkpoint`` for the gate's ``reasons`` (the first reason's), or None."""
    table = ERRORS[checkpoint]
    for reason in reasons:
        return table[reason]
    return None


def judged(account: Account, now: datetime, policy: ValidityPolicy, where: str, authentication=None,
           requirement=None) -> gate.Decision:
    """The gate's decision at ``where`` (a checkpoint, or ``authorize`` for every request there),
    each refusing reason counted."""
    decision = gate.evaluate(account, now, policy, authentication, requirement)
    if not decision.allowed:
        metrics.gate_refused([r for r in decision.reasons if r != Reason.LOGIN_REQUIRED], where)
    return decision


def refusal(checkpoint: Checkpoint, account: Account | None, now: datetime, policy: ValidityPolicy) -> str | None:
    """The error ``checkpoint`` answers for the account as it stands now, or None when it passes.
    A missing account (erased) is refused like an ended one."""
    if account is None:
        return ERRORS[checkpoint][Reason.ACCOUNT_ENDED]
    return error_for(checkpoint, judged(account, now, policy, checkpoint.value).reasons)
