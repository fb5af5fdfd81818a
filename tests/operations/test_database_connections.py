"""No ping before every checkout (issue 11), and still no failed request after the database ended
the pooled connections: a restart, a failover or an administrator (simulated by ending this test
database's own backends with pg_terminate_backend)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, text

from idp.connections import closed_by_server


def _pid(db) -> int:
    pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar_one()
    db.session.commit()  # back to the pool
    return pid


def _end_backends(database_url: str, pids: set[int]) -> None:
    admin = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"), poolclass=None)
    with admin.connect() as conn:
        for pid in pids:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        for _ in range(100):  # until the backends are gone (a wait for a state, not a timing claim)
            left = conn.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(:pids)"), {"pids": list(pids)}
            ).scalar_one()
            if not left:
                break
            time.sleep(0.05)
    admin.dispose()


def test_the_engine_does_not_ping_on_checkout(app, db):
    assert db.engine.pool._pre_ping is False


def test_requests_go_on_after_the_server_ended_the_pooled_connections(app, db, database_url, client):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite has no server to close a connection")
    pids = {_pid(db)}
    db.session.remove()
    _end_backends(database_url, pids)

    assert client.get("/.well-known/openid-configuration").status_code == 200
    response = client.get("/login")
    assert response.status_code == 200  # the page read the database on a fresh connection
    assert _pid(db) not in pids


def test_a_closed_socket_is_seen_without_a_round_trip(app, db, database_url):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")
    with db.engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert closed_by_server(raw) is False
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        conn.rollback()
        _end_backends(database_url, {pid})
        for _ in range(100):
            if closed_by_server(raw):
                break
            time.sleep(0.05)
        assert closed_by_server(raw) is True
        conn.invalidate()
