"""The citizen's access history: a record of each release of claims to an agency.

Written in the same transaction as the release itself (the ID token at the code
exchange, the userinfo answer), one upsert per release: the day's row for that
agency, channel and claim set counts up. Claim names only, never values; the
pseudonymous ``sub`` is not personal data an agency learns about the citizen
and is left out. Shown on the account page (issue 4: "which agency received
which claims, and when").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from idp.clients.models import Client

from .models import ClaimRelease

ID_TOKEN = "id_token"
USERINFO = "userinfo"
#: Not personal data the agency learns (its own pseudonym for the citizen, protocol facts).
NOT_RECORDED = frozenset({"sub"})


def record(session: Session, account_id: int, client_pk: int, channel: str, claims: Iterable[str], now: datetime) -> None:
    names = " ".join(sorted(set(claims) - NOT_RECORDED))
    if not names:
        return
    values = dict(
        account_id=account_id, client_pk=client_pk, channel=channel, claims=names,
        day=now.date().isoformat(), first_at=now, last_at=now, count=1,
    )
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(ClaimRelease).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["account_id", "client_pk", "channel", "claims", "day"],
        set_={"last_at": now, "count": ClaimRelease.count + 1},
    )
    session.execute(stmt)


@dataclass(frozen=True)
class Release:
    agency: str
    client_name: str
    channel: str
    claims: tuple[str, ...]
    first_at: datetime
    last_at: datetime
    count: int


def history(session: Session, account_id: int, limit: int = 100) -> list[Release]:
    """The latest releases of claims about the account, newest first."""
    rows = session.execute(
        select(ClaimRelease, Client.agency, Client.name)
        .join(Client, Client.id == ClaimRelease.client_pk)
        .where(ClaimRelease.account_id == account_id)
        .order_by(ClaimRelease.last_at.desc(), ClaimRelease.id.desc())
        .limit(limit)
    )
    return [
        Release(agency or name, name, r.channel, tuple(r.claims.split()), r.first_at, r.last_at, r.count)
        for r, agency, name in rows
    ]
