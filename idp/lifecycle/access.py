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
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from idp.oidc import tokens
from idp.oidc.models import AuthorizationCode, Consent
from idp.sessions import service as sessions
from idp.sessions.models import SsoSession

log = logging.getLogger("idp.lifecycle")


@dataclass(frozen=True)
class EndedAccess:
    account_id: int
    #: The sign-in sessions that were live: back-channel logout tells the agencies that saw them.
    sids: tuple[str, ...]


def end_access(session: Session, account_id: int, now: datetime, reason: str) -> EndedAccess:
    """In the caller's transaction: end every session, token, code and consent of the account."""
    sids = sessions.end_all_for_account(session, account_id, now, reason)
    tokens.revoke_for_account(session, account_id, now)
    session.execute(
        update(AuthorizationCode)
        .where(AuthorizationCode.account_id == account_id, AuthorizationCode.consumed_at.is_(None))
        .values(consumed_at=now)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(SsoSession)
        .where(SsoSession.account_id == account_id)
        .values(ip_address="", user_agent="")
        .execution_options(synchronize_session=False)
    )
    session.execute(delete(Consent).where(Consent.account_id == account_id).execution_options(synchronize_session=False))
    return EndedAccess(account_id, tuple(sids))


def announce_logout(ended: EndedAccess, now: datetime) -> None:
    """After the commit: tell every agency holding one of ``ended.sids`` that it ended.

    This is where OpenID Connect Back-Channel Logout 1.0 hooks in (a later issue):
    for each client with a ``backchannel_logout_uri`` that received a token in one
    of these sessions, POST a logout token (``sid``, ``sub`` for that client,
    ``events``). It runs outside the transaction because it calls the network.
    """
    if ended.sids:
        log.info("account %s: %d session(s) ended; back-channel logout not yet implemented", ended.account_id, len(ended.sids))
