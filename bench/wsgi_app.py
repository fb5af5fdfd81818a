"""The provider as the benchmark serves it under gunicorn, plus references the provider does not have.

* ``application`` is ``idp.create_app()`` configured from the environment
  (``IDP_*`` variables, set by ``bench/run``), wrapped so that every SQL
  statement is counted per request and per endpoint (SQLAlchemy event
  listeners). The counts are dumped as JSON by the gunicorn ``worker_exit``
  hook (``bench/gunicorn_conf.py``) into ``$BENCH_STATS_DIR``.
* ``/_ref/ping`` is served by a *bare* Flask app (no hooks, no database) in the
  same workers: the framework ceiling the provider's endpoints are compared to.
* ``/_ref/token`` on that app is the floor of the code exchange on these parts
  (``bench/floor.py``): bare Flask, psycopg and joserfc, for ``--race --floor``.

Nothing here changes how the provider handles a request; the listeners add a
counter increment per statement (well under a microsecond).
"""

from __future__ import annotations

import json
import os
import threading
from collections import defaultdict

from flask import Flask, jsonify
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import Pool

import experiments
import floor
import idp

_local = threading.local()
SAMPLE_AT = (3, 100)
_lock = threading.Lock()
#: endpoint -> {"requests", "statements", "commits", "rollbacks", "checkouts", "min", "max", "sample"}
STATS: dict[str, dict] = defaultdict(
    lambda: {"requests": 0, "statements": 0, "commits": 0, "rollbacks": 0, "checkouts": 0, "min": None, "max": 0, "sample": None}
)


def _counting() -> dict | None:
    return getattr(_local, "current", None)


@event.listens_for(Engine, "before_cursor_execute")
def _on_statement(conn, cursor, statement, parameters, context, executemany):
    cur = _counting()
    if cur is not None:
        cur["statements"] += 1
        if cur["texts"] is not None:
            cur["texts"].append(" ".join(statement.split())[:160])


@event.listens_for(Engine, "commit")
def _on_commit(conn):
    cur = _counting()
    if cur is not None:
        cur["commits"] += 1


@event.listens_for(Engine, "rollback")
def _on_rollback(conn):
    cur = _counting()
    if cur is not None:
        cur["rollbacks"] += 1


@event.listens_for(Pool, "checkout")
def _on_checkout(dbapi_conn, record, proxy):
    # With pool_pre_ping (idp.app._engine_options) each checkout is one extra round trip (a ping).
    cur = _counting()
    if cur is not None:
        cur["checkouts"] += 1


def _endpoint_key(environ) -> str:
    return f"{environ.get('REQUEST_METHOD', '')} {environ.get('PATH_INFO', '')}"


class Counted:
    """WSGI middleware: counts the statements each request runs (Flask finishes its
    commit and teardown before ``wsgi_app`` returns, so everything is inside the call)."""

    def __init__(self, app, ref_app):
        self.app = app
        self.ref_app = ref_app

    def __call__(self, environ, start_response):
        def tagged(status, headers, exc_info=None):
            # Which worker answered: lets the load generator spread its keep-alive connections evenly.
            headers.append(("X-Bench-Worker", str(os.getpid())))
            return start_response(status, headers, exc_info)

        path = environ.get("PATH_INFO", "")
        if path.startswith("/_ref/"):
            return self.ref_app(environ, tagged)
        key = _endpoint_key(environ)
        # Statement texts only for the requests kept as samples: past the first, cold ones (caches, prepared statements).
        sample = STATS[key]["requests"] + 1 in SAMPLE_AT
        _local.current = cur = {"statements": 0, "commits": 0, "rollbacks": 0, "checkouts": 0, "texts": [] if sample else None}
        try:
            return self.app(environ, tagged)
        finally:
            _local.current = None
            with _lock:
                s = STATS[key]
                s["requests"] += 1
                for name in ("statements", "commits", "rollbacks", "checkouts"):
                    s[name] += cur[name]
                s["min"] = cur["statements"] if s["min"] is None else min(s["min"], cur["statements"])
                s["max"] = max(s["max"], cur["statements"])
                if cur["texts"] is not None:
                    s["sample"] = cur["texts"]


def dump_stats() -> None:
    directory = os.environ.get("BENCH_STATS_DIR")
    if not directory:
        return
    with _lock:
        data = {"pid": os.getpid(), "endpoints": dict(STATS)}
    with open(os.path.join(directory, f"sql-{os.getpid()}.json"), "w") as fh:
        json.dump(data, fh)


def _reference_app(idp_app) -> Flask:
    ref = Flask("bench_reference")

    @ref.get("/_ref/ping")
    def ping():
        return jsonify(ok=True)

    floor.add_route(ref, idp_app)
    return ref


EXPERIMENTS = experiments.enabled()
experiments.apply(EXPERIMENTS)
_provider = idp.create_app()
application = Counted(_provider, _reference_app(_provider))
