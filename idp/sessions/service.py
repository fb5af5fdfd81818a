"""Starting, finding and ending sign-in sessions (ASVS 5.0 V7).

A new secret at every sign-in (no fixation), idle and absolute timeouts
enforced here on every lookup, ended server-side at sign-out.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from idp.accounts.gate import Authentication
from idp.accounts.models import Account
from idp.security.secrets import digest, new_secret

from .models import SsoSession

#: How stale ``last_seen_at`` may get before a lookup writes it again (saves a write per request).
TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True)
class Timeouts:
    idle: timedelta
    absolute: timedelta


def start(
    session: Session,
    account: Account,
    now: datetime,
    amr: list[str],
    acr: str,
    ip_address: str = "",
    user_agent: str = "",
) -> tuple[SsoSession, str]:
    """Create a session; returns it and the cookie secret (never stored in clear)."""
    secret = new_secret(32)
    sso = SsoSession(
        sid=new_secret(24),
        secret_digest=digest(secret),
        account_id=account.id,
        created_at=now,
        last_seen_at=now,
        auth_time=now,
        acr=acr,
        amr=list(amr),
        ip_address=ip_address[:64],
        user_agent=user_agent[:300],
    )
    session.add(sso)
    session.flush()
    return sso, secret


def is_current(sso: SsoSession, now: datetime, timeouts: Timeouts) -> bool:
    return (
        sso.ended_at is None
        and now - sso.last_seen_at < timeouts.idle
        and now - sso.created_at < timeouts.absolute
    )


#: The session and its citizen's account in one statement, built once (the single sign-on path).
_WITH_ACCOUNT = (
    select(SsoSession, Account)
    .join(Account, Account.id == SsoSession.account_id)
    .where(SsoSession.secret_digest == bindparam("secret_digest"))
)


def find(
    session: Session, secret: str | None, now: datetime, timeouts: Timeouts
) -> tuple[SsoSession, Account] | None:
    """The live session for a cookie secret, touched, with its account (loaded by the same
    statement); None when absent, ended or timed out."""
    if not secret or len(secret) > 128:
        return None
    row = session.execute(_WITH_ACCOUNT, {"secret_digest": digest(secret)}).first()
    if row is None:
        return None
    sso, account = row
    if not is_current(sso, now, timeouts):
        return None
    if now - sso.last_seen_at >= TOUCH_EVERY:
        sso.last_seen_at = now
    return sso, account


def authentication_of(sso: SsoSession) -> Authentication:
    return Authentication(auth_time=sso.auth_time, acr=sso.acr, amr=tuple(sso.amr or ()))


def end_for_account(
    session: Session,
    account_id: int,
    now: datetime,
    reason: str,
    *,
    only: Collection[str] | None = None,
    keep: str | None = None,
) -> list[str]:
    """End the account's live sessions (those in ``only`` when given, all but ``keep`` when given);
    returns their sids (for logout notices)."""
    conditions = [SsoSession.account_id == account_id, SsoSession.ended_at.is_(None)]
    if only is not None:
        conditions.append(SsoSession.sid.in_(list(only)))
    if keep is not None:
        conditions.append(SsoSession.sid != keep)
    sids = list(session.scalars(select(SsoSession.sid).where(*conditions)))
    if sids:
        session.execute(
            update(SsoSession)
            .where(SsoSession.sid.in_(sids), SsoSession.ended_at.is_(None))
            .values(ended_at=now, end_reason=reason)
            .execution_options(synchronize_session="fetch")
        )
    return sids


def end_for_accounts(session: Session, account_ids: Collection[int], now: datetime, reason: str) -> list[str]:
    """End every live session of these accounts in one statement (the scheduled jobs end accounts
    in batches); returns their sids (for logout notices)."""
    if not account_ids:
        return []
    return list(
        session.scalars(
            update(SsoSession)
            .where(SsoSession.account_id.in_(list(account_ids)), SsoSession.ended_at.is_(None))
            .values(ended_at=now, end_reason=reason)
            .returning(SsoSession.sid)
            .execution_options(synchronize_session=False)
        )
    )


def live_for_account(session: Session, account_id: int, now: datetime, timeouts: Timeouts) -> list[SsoSession]:
    """The account's sessions still current, newest sign-in first (the account page)."""
    rows = session.scalars(
        select(SsoSession)
        .where(SsoSession.account_id == account_id, SsoSession.ended_at.is_(None))
        .order_by(SsoSession.created_at.desc())
    )
    return [s for s in rows if is_current(s, now, timeouts)]


def rotate(sso: SsoSession) -> str:
    """A new cookie secret for a live session (the citizen authenticated again: a step-up, a
    password change); the old secret finds nothing from now on (ASVS 5.0 V7.2.4). ``sid``, which
    agencies hold, stays."""
    secret = new_secret(32)
    sso.secret_digest = digest(secret)
    return secret


def step_up(sso: SsoSession, method: str, acr: str, now: datetime) -> None:
    """A second factor proven within a live session (step-up): the session's level rises and
    ``auth_time`` moves to now (the citizen authenticated again, OIDC Core §2)."""
    amr = list(sso.amr or ())
    if method not in amr:
        amr.append(method)
    sso.amr = amr
    sso.acr = acr
    sso.auth_time = now
