"""``/healthz`` and ``/readyz``: what a load balancer probes (README "Operate")."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from idp.app import create_app
from idp.health import MIGRATIONS, migration_heads

from ..conftest import make_settings
from ..support.live import free_port


def _unreachable_database() -> str:
    return f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nowhere"


def test_liveness_answers_without_touching_anything(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "alive"}
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"


def test_readiness_names_every_check_and_is_ready(client, settings):
    response = client.get("/readyz")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "ready"
    assert body["checks"] == {"database": "ok", "signing_keys": "ok"}
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"


def test_readiness_is_not_ready_while_the_schema_is_behind_the_migrations(client, db):
    (head,) = migration_heads(str(MIGRATIONS))
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    try:
        response = client.get("/readyz")
    finally:
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})
    assert response.status_code == 503
    assert response.get_json()["checks"]["database"] == "schema_behind"
    assert response.headers["Retry-After"]
    assert client.get("/readyz").status_code == 200


def test_readiness_is_not_ready_without_the_database_and_says_no_more(keys_dir, tmp_path):
    url = _unreachable_database()
    app = create_app(make_settings(url, keys_dir, mail={"outbox_dir": str(tmp_path)}))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.headers["Retry-After"].isdigit()
    body = response.get_json()
    assert body == {"status": "unavailable", "checks": {"database": "unavailable", "signing_keys": "ok"}}
    assert url.split("@")[1].split("/")[0] not in response.get_data(as_text=True)
    assert app.test_client().get("/healthz").status_code == 200


def test_readiness_is_not_ready_when_redis_does_not_answer(database_url, keys_dir, tmp_path, _schema):
    app = create_app(make_settings(
        database_url, keys_dir, mail={"outbox_dir": str(tmp_path)},
        shared_state={"redis_url": f"redis://127.0.0.1:{free_port()}/0"},
    ))
    with app.app_context():
        response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"] == {"database": "ok", "redis": "unavailable", "signing_keys": "ok"}


def test_readiness_checks_redis_when_configured(database_url, keys_dir, tmp_path, _schema):
    import os

    url = os.environ.get("IDP_TEST_REDIS_URL")
    if not url:
        pytest.skip("IDP_TEST_REDIS_URL is not set: no Redis to check against")
    app = create_app(make_settings(database_url, keys_dir, mail={"outbox_dir": str(tmp_path)},
                                   shared_state={"redis_url": url}))
    with app.app_context():
        response = app.test_client().get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["checks"]["redis"] == "ok"


def test_readiness_is_not_ready_without_signing_keys(database_url, tmp_path, _schema):
    empty = tmp_path / "keys"
    empty.mkdir()
    app = create_app(make_settings(database_url, empty, mail={"outbox_dir": str(tmp_path)}))
    with app.app_context():
        response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["signing_keys"] == "missing"


def test_readiness_is_not_ready_on_a_database_never_upgraded(keys_dir, tmp_path):
    app = create_app(make_settings(f"sqlite:///{tmp_path / 'empty.sqlite3'}", keys_dir,
                                   mail={"outbox_dir": str(tmp_path)}))
    with app.app_context():
        response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["database"] == "schema_behind"
