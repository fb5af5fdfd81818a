"""One-time codes kept as rows (the activation code, the emailed Ügyfélkapu+ code): count a try,
claim, revoke, each by one conditional ``UPDATE`` whose row count decides.

Two requests with the same code cannot both win, and a try is counted before the
comparison, so parallel guesses cannot exceed the limit. The rows need ``id``,
``attempts``, ``used_at`` and ``revoked_at``. ``latest`` reads the newest code
of an account afresh (the counters change behind the ORM's back).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session


@dataclass(frozen=True)
class IssuedCode:
    """A code just made, for the caller to mail (only its digest is kept)."""

    code: str
    expires_at: datetime

    def __repr__(self) -> str:
        return f"<IssuedCode expires_at={self.expires_at.isoformat()}>"


def latest(session: Session, entity, account_id: int):
    return session.scalar(
        select(entity)
        .where(entity.account_id == account_id)
        .order_by(entity.created_at.desc(), entity.id.desc())
        .limit(1)
        .execution_options(populate_existing=True)
    )


def spend_attempt(session: Session, code, limit: int) -> bool:
    """Count one try; False when the code has no try left (or was used or revoked meanwhile)."""
    entity = type(code)
    result = session.execute(
        update(entity)
        .where(entity.id == code.id, entity.attempts < limit, entity.used_at.is_(None), entity.revoked_at.is_(None))
        .values(attempts=entity.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def claim(session: Session, code, now: datetime) -> bool:
    """Use the code once: False when another request used (or something revoked) it first."""
    entity = type(code)
    result = session.execute(
        update(entity)
        .where(entity.id == code.id, entity.used_at.is_(None), entity.revoked_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def revoke(session: Session, code, now: datetime) -> None:
    entity = type(code)
    session.execute(
        update(entity)
        .where(entity.id == code.id, entity.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )


def revoke_all(session: Session, entity, account_id: int, now: datetime) -> None:
    """Every unused code of the account stops working (a newer one replaces them)."""
    session.execute(
        update(entity)
        .where(entity.account_id == account_id, entity.used_at.is_(None), entity.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
