"""An append-only record of who did what (PRODUCT.md rules 4–10; ASVS 5.0 V16).

Every lifecycle event (registration, verification, statement, activation,
password change, extension, data change, deletion, lapse, expiry) and every
change to an agency's client is one row: when, which event, who acted
(citizen, officer, operator, an agency's integrator, or the system's scheduled
jobs), at which office, about which account, and the details (for a data
change: the fields before and after). Rows are only ever added;
erasing an account's personal data leaves its audit trail, which holds no
password, code or token.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import JSON, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from idp.storage import Base

CITIZEN = "citizen"
OFFICER = "officer"
OPERATOR = "operator"
INTEGRATOR = "integrator"  # an agency's integrator, at the client registration endpoints (named by agency)
SYSTEM = "system"


class AuditEvent(Base):
    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    event: Mapped[str] = mapped_column(String(48), index=True)
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(128), default="")
    office_id: Mapped[int | None] = mapped_column(Integer)
    account_id: Mapped[int | None] = mapped_column(Integer, index=True)
    details: Mapped[dict] = mapped_column(JSON, default=dict)


@dataclass(frozen=True)
class Actor:
    kind: str
    name: str = ""
    office_id: int | None = None


SYSTEM_ACTOR = Actor(SYSTEM, "jobs")
OPERATOR_CLI = Actor(OPERATOR, "cli")


def record(session: Session, at: datetime, event: str, actor: Actor, account_id: int | None = None, **details) -> AuditEvent:
    row = AuditEvent(
        at=at,
        event=event,
        actor_kind=actor.kind,
        actor=actor.name,
        office_id=actor.office_id,
        account_id=account_id,
        details=details,
    )
    session.add(row)
    return row


def events(
    session: Session,
    *,
    account_id: int | None = None,
    event: str | None = None,
    since: datetime | None = None,
    limit: int = 200,
) -> list[AuditEvent]:
    query = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)
    if account_id is not None:
        query = query.where(AuditEvent.account_id == account_id)
    if event:
        query = query.where(AuditEvent.event == event)
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    return list(session.scalars(query))
