"""Back-channel logout notices (OpenID Connect Back-Channel Logout 1.0): which agency is to be told
that which sign-in session ended, and the record of each attempt to tell it.

Queued in the transaction that ends the session (``idp.lifecycle.access``); claimed for one
attempt with a conditional ``UPDATE`` on ``claimed_until``, so the request's own attempt and the
retry job, or two job runs, never send it twice at once. Sending (the signed logout token, the
POST) is the protocol edge's: ``idp.oidc.backchannel``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from idp.clients.models import Client
from idp.security.secrets import new_secret

from .models import LogoutNotice, Token

#: How long one worker owns a notice while it sends it.
CLAIM_FOR = timedelta(seconds=120)
MAX_HISTORY = 20


def queue(session: Session, sids: Iterable[str], now: datetime, reason: str, *, client_pk: int | None = None) -> list[int]:
    """In the caller's transaction: a notice for every agency that holds a session in ``sids``
    (received a token in it) and registered a ``backchannel_logout_uri``. Returns their ids."""
    sids = list(sids)
    if not sids:
        return []
    query = (
        select(Token.client_pk, Token.account_id, Token.sid)
        .join(Client, Client.id == Token.client_pk)
        .where(Token.sid.in_(sids), Client.backchannel_logout_uri.is_not(None), Client.backchannel_logout_uri != "")
        .distinct()
    )
    if client_pk is not None:
        query = query.where(Token.client_pk == client_pk)
    notices = [
        LogoutNotice(
            client_pk=cpk, account_id=account_id, sid=sid, jti=new_secret(24), reason=reason,
            created_at=now, next_attempt_at=now, attempts=[],
        )
        for cpk, account_id, sid in session.execute(query)
    ]
    session.add_all(notices)
    session.flush()
    return [n.id for n in notices]


def claim(session: Session, notice_id: int, now: datetime) -> bool:
    """Take one notice for one attempt; False when it is not due or another worker has it. The caller
    commits the claim before it sends, so no transaction stays open while an agency answers."""
    claimed = session.execute(
        update(LogoutNotice)
        .where(
            LogoutNotice.id == notice_id,
            LogoutNotice.delivered_at.is_(None),
            LogoutNotice.given_up_at.is_(None),
            LogoutNotice.next_attempt_at <= now,
            or_(LogoutNotice.claimed_until.is_(None), LogoutNotice.claimed_until < now),
        )
        .values(claimed_until=now + CLAIM_FOR)
        .execution_options(synchronize_session=False)
    )
    return claimed.rowcount == 1


def record(notice: LogoutNotice, outcome: str, now: datetime, waits: list[int]) -> None:
    history = list(notice.attempts or [])
    history.append({"at": now.isoformat(), "outcome": outcome})
    notice.attempts = history[-MAX_HISTORY:]
    notice.claimed_until = None
    if outcome == "delivered":
        notice.delivered_at = now
        return
    retries_done = len(history) - 1
    if outcome == "no endpoint" or retries_done >= len(waits):
        notice.given_up_at = now
    else:
        notice.next_attempt_at = now + timedelta(seconds=waits[retries_done])


def due(session: Session, now: datetime, limit: int = 500) -> list[int]:
    return list(
        session.scalars(
            select(LogoutNotice.id)
            .where(
                LogoutNotice.delivered_at.is_(None),
                LogoutNotice.given_up_at.is_(None),
                LogoutNotice.next_attempt_at <= now,
            )
            .order_by(LogoutNotice.next_attempt_at)
            .limit(limit)
        )
    )
