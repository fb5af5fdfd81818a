"""Controlled answers to faults (README "Operate"): a dependency that does not answer is a 503
with ``Retry-After`` (JSON ``temporarily_unavailable`` at the protocol, a page elsewhere), one
log line rather than a traceback, and the instance recovers by itself."""

from __future__ import annotations

import base64
import logging

import pytest
from sqlalchemy import text

from idp.app import create_app

from ..conftest import make_settings
from ..support.live import free_port

PROTOCOL = [
    ("POST", "/token", {"grant_type": "authorization_code", "code": "x", "redirect_uri": "https://a.example/cb"}),
    ("POST", "/introspect", {"token": "x"}),
    ("POST", "/revoke", {"token": "x"}),
    ("POST", "/par", {"response_type": "code", "client_id": "client"}),  # the Basic header's client
    ("GET", "/userinfo", None),
]


@pytest.fixture
def without_database(keys_dir, tmp_path):
    """The provider whose database refuses connections (nothing listens on its port)."""
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nowhere"
    app = create_app(make_settings(url, keys_dir, mail={"outbox_dir": str(tmp_path)}))
    with app.app_context():
        yield app.test_client()


@pytest.mark.parametrize(("method", "path", "data"), PROTOCOL)
def test_protocol_endpoints_answer_temporarily_unavailable(without_database, caplog, method, path, data):
    basic = "Basic " + base64.b64encode(b"client:secret").decode()
    headers = {"Authorization": "Bearer x" if path == "/userinfo" else basic}
    with caplog.at_level(logging.WARNING):
        response = without_database.open(path, method=method, data=data, headers=headers)
    assert response.status_code == 503, response.get_data(as_text=True)[:300]
    assert response.get_json()["error"] == "temporarily_unavailable"
    assert int(response.headers["Retry-After"]) > 0
    assert response.headers["Cache-Control"] == "no-store"
    ours = [r for r in caplog.records if r.name.startswith("idp") or r.name == "flask.app"]
    assert len([r for r in ours if "unavailable" in r.getMessage()]) == 1
    assert not any(r.exc_info for r in caplog.records), "a fault is one line, not a traceback"


def test_dynamic_registration_answers_temporarily_unavailable(without_database):
    response = without_database.post("/connect/register", json={"redirect_uris": ["https://a.example/cb"]},
                                     headers={"Authorization": "Bearer initial"})
    assert response.status_code == 503
    assert response.get_json()["error"] == "temporarily_unavailable"


@pytest.mark.parametrize("path", ["/account", "/authorize?client_id=x&response_type=code&redirect_uri=https://a.example/cb"])
def test_pages_answer_a_readable_page_in_hungarian_first(without_database, path):
    without_database.set_cookie("idp_session", "some-session-secret")
    response = without_database.get(path)
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "átmenetileg nem érhető el" in page
    english = without_database.get(path, headers={"Accept-Language": "en"})
    assert "temporarily unavailable" in english.get_data(as_text=True)


def test_sign_in_answers_a_page_when_the_database_is_away(without_database):
    from ..support.flows import csrf_of

    page = without_database.get("/login")
    assert page.status_code == 200
    response = without_database.post("/login", data={
        "csrf_token": csrf_of(page.get_data(as_text=True)), "username": "someone", "password": "a password",
    })
    assert response.status_code == 503
    assert response.headers["Retry-After"]


def _terminate_connections(database_url: str, application_name: str) -> None:
    """Drop every connection of the app's pool from the server side, as a database restart does."""
    from sqlalchemy import create_engine

    engine = create_engine(database_url)
    with engine.connect() as conn:
        ended = conn.execute(text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = :name"
        ), {"name": application_name}).scalar()
    engine.dispose()
    assert ended >= 1


def test_recovers_from_dropped_connections_without_pre_ping(database_url, keys_dir, tmp_path, _schema, monkeypatch):
    """A database restart drops every pooled connection. Without relying on ``pool_pre_ping``, one
    request may see 503 (never 500), and the next ones are served on fresh connections."""
    if not database_url.startswith("postgresql"):
        pytest.skip("dropping connections from the server side needs PostgreSQL (IDP_TEST_DATABASE_URL)")
    import idp.app as app_module

    original = app_module._engine_options

    def no_pre_ping(settings):
        options = dict(original(settings), pool_pre_ping=False, pool_size=3)
        options["connect_args"] = {**options.get("connect_args", {}), "application_name": "idp-faults-test"}
        return options

    monkeypatch.setattr(app_module, "_engine_options", no_pre_ping)
    app = create_app(make_settings(database_url, keys_dir, mail={"outbox_dir": str(tmp_path)}))
    client = app.test_client()
    with app.app_context():
        from idp.extensions import db

        assert client.get("/readyz").status_code == 200
        basic = {"Authorization": "Basic " + base64.b64encode(b"no-such-client:secret").decode()}
        assert client.post("/introspect", data={"token": "x"}, headers=basic).status_code == 401
        _terminate_connections(database_url, "idp-faults-test")
        statuses = [client.post("/introspect", data={"token": "x"}, headers=basic).status_code for _ in range(3)]
        assert 500 not in statuses, statuses
        assert set(statuses) <= {401, 503}
        assert statuses[-1] == 401, statuses
        # Readiness finds the database back at once: a dead pooled connection is not an outage.
        _terminate_connections(database_url, "idp-faults-test")
        assert client.get("/readyz").status_code == 200
        db.engine.dispose()


def test_a_commit_that_fails_after_the_view_answers_503_and_lands_nothing(client, citizen, agency, db, monkeypatch):
    """The database goes away between the view and the request's commit: 503, nothing announced."""
    from sqlalchemy.exc import OperationalError

    citizen.signed_in_quickly()
    agency.offline = True  # a refresh token needs offline access (OIDC Core §11)
    tokens = agency.tokens()

    def gone():
        raise OperationalError("COMMIT", {}, Exception("server closed the connection unexpectedly"))

    with monkeypatch.context() as patch:
        patch.setattr(db.session, "commit", gone)
        response = agency.revoke(tokens["refresh_token"])
    assert response.status_code == 503
    assert response.get_json()["error"] == "temporarily_unavailable"
    assert response.headers["Retry-After"]
    assert agency.introspect(tokens["access_token"]).get_json()["active"] is True, "the revocation did not land"
