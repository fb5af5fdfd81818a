"""Ending everything an account can still reach with (PRODUCT.md rule 10).

"Deletion erases the personal data, ends every session and token, and tells
every agency that holds a session (back-channel logout)." The same happens when
a registration lapses or an account expires: sign-in sessions end, access and
refresh tokens are revoked, codes not yet exchanged die, consents go, and the
sessions' network traces (address, browser) are emptied with the personal data.
The gate would refuse all of them anyway; ending them keeps the records honest.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from idp.accounts import recovery
from idp.accounts.devices import KnownDevice
from idp.authorizations import logout, tokens
from idp.authorizations.models import Consent
from idp.sessions import service as sessions
from idp.sessions.models import SsoSession

log = logging.getLogger("idp.lifecycle")


@dataclass(frozen=True)
class EndedAccess:
    account_id: int
    #: The sign-in sessions that were live.
    sids: tuple[str, ...]
    #: Back-channel logout notices queued for the agencies that saw those sessions (sent after the commit).
    notices: tuple[int, ...] = ()


class LogoutDispatcher(Protocol):
    def send(self, notice_ids: Iterable[int]) -> None: ...


def end_sessions(
    session: Session,
    account_id: int,
    now: datetime,
    reason: str,
    *,
    only: Collection[str] | None = None,
    keep: str | None = None,
) -> EndedAccess:
    """In the caller's transaction: end sign-in sessions (all of the account's, those in ``only``,
    or all but ``keep``), the tokens and unexchanged codes issued in them, and queue a back-channel
    logout notice for every agency that holds one. The one way any session ends."""
    sids = sessions.end_for_account(session, account_id, now, reason, only=only, keep=keep)
    tokens.revoke_for_sids(session, sids, now)
    notices = logout.queue(session, sids, now, reason)
    return EndedAccess(account_id, tuple(sids), tuple(notices))


def end_access(session: Session, account_id: int, now: datetime, reason: str) -> EndedAccess:
    """In the caller's transaction: end every session, token, code and consent of the account."""
    ended = end_sessions(session, account_id, now, reason)
    _forget(session, [account_id], now)
    return ended


def end_access_many(session: Session, account_ids: Collection[int], now: datetime, reason: str) -> tuple[int, ...]:
    """``end_access`` for a batch of accounts (the scheduled jobs): the same ends, in a fixed number
    of set-based statements however many accounts end. Returns the logout notices queued."""
    ids = list(account_ids)
    if not ids:
        return ()
    sids = sessions.end_for_accounts(session, ids, now, reason)
    notices = logout.queue(session, sids, now, reason)
    _forget(session, ids, now)
    return tuple(notices)


def _forget(session: Session, ids: list[int], now: datetime) -> None:
    """What an ended account leaves behind goes: its tokens and unexchanged codes, the addresses and
    browsers of its sessions, its consents, the browsers it signed in from, its recovery links."""
    tokens.revoke_for_accounts(session, ids, now)
    session.execute(
        update(SsoSession)
        .where(SsoSession.account_id.in_(ids))
        .values(ip_address="", user_agent="")
        .execution_options(synchronize_session=False)
    )
    session.execute(delete(Consent).where(Consent.account_id.in_(ids)).execution_options(synchronize_session=False))
    session.execute(delete(KnownDevice).where(KnownDevice.account_id.in_(ids)).execution_options(synchronize_session=False))
    recovery.revoke_all(session, ids, now)


def announce_logout(ended: EndedAccess, dispatcher: LogoutDispatcher | None) -> None:
    """After the commit: deliver the queued back-channel logout notices (OpenID Connect Back-Channel
    Logout 1.0; ``idp.oidc.backchannel``). Outside the transaction because it calls the network;
    without a dispatcher (a tool run) the notices wait for ``idp jobs run``."""
    if ended.notices and dispatcher is not None:
        dispatcher.send(ended.notices)
    elif ended.notices:
        log.info("account %s: %d logout notice(s) queued for `idp jobs run`", ended.account_id, len(ended.notices))
