"""Is this instance ready to take traffic? The checks behind ``GET /readyz`` (and a metrics gauge).

Readiness (not liveness) means: the database answers and its schema is at the
head of the migrations shipped with this code, Redis answers when it is
configured, and a current signing key loads for every configured algorithm.
Each check answers in a bounded time and reports only a short reason code,
never a message from the database, a URL, a key id or a passphrase.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from idp.runtime import Runtime
from idp.security.keys import KeyRingError
from idp.sharedstate import SharedStateUnavailable

log = logging.getLogger("idp.health")

OK = "ok"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


@dataclass(frozen=True)
class Readiness:
    """One answer per dependency: ``"ok"`` or a short reason code (``unavailable``, ``schema_behind``…)."""

    checks: dict[str, str] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        return all(v == OK for v in self.checks.values())

    @property
    def missing(self) -> list[str]:
        return [name for name, v in self.checks.items() if v != OK]

    def as_json(self) -> dict:
        return {"status": "ready" if self.ready else "unavailable", "checks": dict(self.checks)}


@lru_cache(maxsize=4)
def migration_heads(directory: str) -> frozenset[str]:
    """The head revision(s) of the migrations shipped with this code (read once per process)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", directory)
    return frozenset(ScriptDirectory.from_config(config).get_heads())


def check_database(engine: Engine, migrations: Path) -> str:
    for attempt in (1, 2):
        try:
            with engine.connect() as conn:
                if not inspect(conn).has_table("alembic_version"):  # never built: `idp db upgrade`
                    return "schema_behind"
                rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
            break
        except DBAPIError as exc:
            # A pooled connection found dead (the database restarted) invalidates the pool: the
            # second attempt opens a fresh connection and tells whether the database answers now.
            if attempt == 1 and exc.connection_invalidated:
                continue
            return "unavailable"
        except Exception:  # noqa: BLE001  (any failure means "not ready"; the change is logged, not shown)
            return "unavailable"
    if set(rows) != migration_heads(str(migrations)):
        return "schema_behind"
    return OK


def check_shared_state(rt: Runtime) -> str:
    ping = getattr(rt.shared, "ping", None)
    if ping is None:
        return OK
    try:
        ping()
    except SharedStateUnavailable:
        return "unavailable"
    return OK


def check_keys(rt: Runtime) -> str:
    try:
        for alg in rt.keyring.algorithms:
            rt.keyring.current(alg)
    except (KeyRingError, OSError):
        return "missing"
    return OK


_last: dict[str, str] = {}


def readiness(rt: Runtime, engine: Engine, migrations: Path = MIGRATIONS) -> Readiness:
    checks = {"database": check_database(engine, migrations)}
    if rt.settings.shared_state.redis_url:
        checks["redis"] = check_shared_state(rt)
    checks["signing_keys"] = check_keys(rt)
    for name, state in checks.items():  # one log line per change, not one per probe
        if _last.get(name, OK) != state:
            log.log(logging.INFO if state == OK else logging.WARNING, "readiness: %s is %s", name, state)
        _last[name] = state
    return Readiness(checks)
