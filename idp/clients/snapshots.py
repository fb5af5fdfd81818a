"""Clients kept per worker for the protocol's hot path (issue 11), with a bounded staleness.

Every authorize and every token request starts by looking its client up; loading the 24-column
row through the ORM cost about a tenth of a code exchange. A worker therefore keeps a read-only
snapshot of each client it served (a transient copy: never attached to a session, it never
expires nor lazy-loads) and trusts it:

* **in this process**, until any session flushes a change to a client (an edit, a suspension, a
  secret rotation, a scope decision, a removal): the commit that follows drops every snapshot
  (``_bump``), so the next request reads the row again;
* **across instances**, for at most ``database.client_snapshot_seconds`` (5 s by default): after
  that, the next lookup reads the client's ``updated_at`` (one small indexed statement, once per
  client per interval) and reloads the client when it changed or is gone. Every change through
  the clients domain sets ``updated_at``; it is compared for equality, so clocks do not matter.

The bound is stated in SECURITY.md ("Client snapshots"). A client that is not found is never
kept, so made-up ``client_id`` values cannot fill the memory.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, event, inspect, select
from sqlalchemy.orm import Session

from . import service
from .models import Client

_COLUMNS = tuple(attr.key for attr in inspect(Client).column_attrs)
_STAMP = select(Client.updated_at).where(Client.id == bindparam("pk"))

#: Changes committed to clients in this process; a snapshot taken under an older value is dropped.
_generation = 0
_lock = threading.Lock()


def _bump() -> None:
    global _generation
    with _lock:
        _generation += 1


@event.listens_for(Session, "before_flush")
def _note_client_changes(session, flush_context, instances) -> None:
    if any(isinstance(obj, Client) for obj in (*session.dirty, *session.deleted)):
        session.info["idp_clients_changed"] = True
        _bump()  # at once too, so a rolled-back change costs a reload, never a stale snapshot


@event.listens_for(Session, "after_commit")
def _drop_snapshots_after_client_changes(session) -> None:
    if session.info.pop("idp_clients_changed", False):
        _bump()


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back_changes(session) -> None:
    session.info.pop("idp_clients_changed", None)


def _copy(client: Client) -> Client:
    copy = Client()
    for key in _COLUMNS:
        setattr(copy, key, getattr(client, key))
    return copy


@dataclass
class _Entry:
    client: Client
    updated_at: datetime
    generation: int
    check_after: float


class ClientSnapshots:
    """One per process (kept by the authorization server). Thread-safe: entries are replaced, never
    changed, and a snapshot is only read."""

    def __init__(self, recheck_seconds: float, monotonic=time.monotonic):
        self.recheck_seconds = recheck_seconds
        self._monotonic = monotonic
        self._entries: dict[str, _Entry] = {}

    def find_active(self, session: Session, client_id: str) -> Client | None:
        """The active client ``client_id``, as a read-only snapshot, or None."""
        client = self.find(session, client_id)
        return client if client is not None and client.is_active else None

    def find(self, session: Session, client_id: str) -> Client | None:
        now = self._monotonic()
        generation = _generation
        entry = self._entries.get(client_id)
        if entry is not None and entry.generation == generation:
            if now < entry.check_after:
                return entry.client
            if session.scalar(_STAMP, {"pk": entry.client.id}) == entry.updated_at:
                self._entries[client_id] = _Entry(entry.client, entry.updated_at, generation, now + self.recheck_seconds)
                return entry.client
        loaded = service.find(session, client_id)
        if loaded is None:
            self._entries.pop(client_id, None)
            return None
        snapshot = _copy(loaded)
        self._entries[client_id] = _Entry(snapshot, loaded.updated_at, generation, now + self.recheck_seconds)
        return snapshot

    def clear(self) -> None:
        self._entries.clear()
