"""The citizen's access history: a record of each release of claims to an agency.

Written in the same transaction as the release itself, and in the same row
where one is written anyway:

* ``id_token`` (the code exchange): the claim names go on the token row
  (``token.released_claims``), in the INSERT that issues the token, so the
  exchange does not write twice; the history reads them back grouped by day.
  Nothing can be lost: the token and its entry commit or roll back together.
* ``userinfo``: one upsert per answer, the day's row for that agency, channel
  and claim set counts up (``claim_release``).

Claim names only, never values; the pseudonymous ``sub`` is not personal data
an agency learns about the citizen and is left out. Shown on the account page
(issue 4: "which agency received which claims, and when").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, case, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from idp.clients.models import Client

from .models import ClaimRelease, Token

ID_TOKEN = "id_token"
USERINFO = "userinfo"
#: Not personal data the agency learns (its own pseudonym for the citizen, protocol facts).
NOT_RECORDED = frozenset({"sub"})


def _upsert(insert):
    """The day's row counts up: one Core statement on the table, built once per dialect with bind
    parameters (building the ORM-enabled statement on every call cost more than running it)."""
    table = ClaimRelease.__table__
    stmt = insert(table).values(
        account_id=bindparam("account_id"), client_pk=bindparam("client_pk"), channel=bindparam("channel"),
        claims=bindparam("claims"), day=bindparam("day"), first_at=bindparam("now"), last_at=bindparam("now"),
        count=1,
    )
    return stmt.on_conflict_do_update(
        index_elements=["account_id", "client_pk", "channel", "claims", "day"],
        set_={"last_at": stmt.excluded.last_at, "count": table.c.count + 1},
    )


_UPSERTS = {"postgresql": _upsert(pg_insert), "sqlite": _upsert(sqlite_insert)}


def names(claims: Iterable[str]) -> str | None:
    """The claim names as the history keeps them (sorted, space-separated, without ``sub``), or
    None when nothing recordable was released."""
    return " ".join(sorted(set(claims) - NOT_RECORDED)) or None


def record(session: Session, account_id: int, client_pk: int, channel: str, claims: Iterable[str], now: datetime) -> None:
    names_ = names(claims)
    if not names_:
        return
    session.execute(
        _UPSERTS[session.get_bind().dialect.name],
        {"account_id": account_id, "client_pk": client_pk, "channel": channel, "claims": names_,
         "day": now.date().isoformat(), "now": now},
    )


@dataclass(frozen=True)
class Release:
    agency: str
    client_name: str
    channel: str
    claims: tuple[str, ...]
    first_at: datetime
    last_at: datetime
    count: int


def _issued_day():
    return func.date(Token.issued_at)


def _from_tokens(where):
    """The ``id_token`` entries kept on token rows, per client, claim set and day."""
    day = _issued_day()
    return (
        select(
            Token.account_id, Token.client_pk, Token.released_claims, day,
            func.min(Token.issued_at), func.max(Token.issued_at), func.count(),
        )
        .where(where, Token.released_claims.is_not(None))
        .group_by(Token.account_id, Token.client_pk, Token.released_claims, day)
    )


def history(session: Session, account_id: int, limit: int = 100) -> list[Release]:
    """The latest releases of claims about the account, newest first: the ``claim_release`` rows
    and the entries derived from token rows, merged per client, channel, claim set and day."""
    merged: dict[tuple, list] = {}

    def add(client_pk, channel, claims, day, first_at, last_at, count):
        key = (client_pk, channel, claims, str(day))
        entry = merged.get(key)
        if entry is None:
            merged[key] = [first_at, last_at, count]
        else:
            entry[0], entry[1], entry[2] = min(entry[0], first_at), max(entry[1], last_at), entry[2] + count

    for r in session.scalars(
        select(ClaimRelease).where(ClaimRelease.account_id == account_id)
        .order_by(ClaimRelease.last_at.desc(), ClaimRelease.id.desc()).limit(limit)
    ):
        add(r.client_pk, r.channel, r.claims, r.day, r.first_at, r.last_at, r.count)
    for _, client_pk, claims, day, first_at, last_at, count in session.execute(_from_tokens(Token.account_id == account_id)):
        add(client_pk, ID_TOKEN, claims, day, first_at, last_at, count)
    if not merged:
        return []
    clients = {
        pk: (agency, name)
        for pk, agency, name in session.execute(
            select(Client.id, Client.agency, Client.name).where(Client.id.in_({key[0] for key in merged}))
        )
    }
    out = []
    for (client_pk, channel, claims, _), (first_at, last_at, count) in merged.items():
        agency, name = clients[client_pk]
        out.append(Release(agency or name, name, channel, tuple(claims.split()), first_at, last_at, count))
    out.sort(key=lambda r: r.last_at, reverse=True)
    return out[:limit]


def fold(session: Session, where) -> None:
    """Before token rows matching ``where`` are deleted (a clean-up), move the access-history
    entries they carry into ``claim_release``, in the caller's transaction, so none is lost."""
    dialect = session.get_bind().dialect.name
    for account_id, client_pk, claims, day, first_at, last_at, count in session.execute(_from_tokens(where)).all():
        session.execute(
            _FOLDS[dialect],
            {"account_id": account_id, "client_pk": client_pk, "channel": ID_TOKEN, "claims": claims,
             "day": str(day), "first_at": first_at, "last_at": last_at, "count": count},
        )


def _fold_upsert(insert):
    table = ClaimRelease.__table__
    stmt = insert(table).values(
        account_id=bindparam("account_id"), client_pk=bindparam("client_pk"), channel=bindparam("channel"),
        claims=bindparam("claims"), day=bindparam("day"), first_at=bindparam("first_at"),
        last_at=bindparam("last_at"), count=bindparam("count"),
    )
    return stmt.on_conflict_do_update(
        index_elements=["account_id", "client_pk", "channel", "claims", "day"],
        set_={
            "first_at": case((stmt.excluded.first_at < table.c.first_at, stmt.excluded.first_at), else_=table.c.first_at),
            "last_at": case((stmt.excluded.last_at > table.c.last_at, stmt.excluded.last_at), else_=table.c.last_at),
            "count": table.c.count + stmt.excluded.count,
        },
    )


_FOLDS = {"postgresql": _fold_upsert(pg_insert), "sqlite": _fold_upsert(sqlite_insert)}
