"""Structured logs (idp.logs, idp.web.observe): the suite's main flows run with the real logging
configuration at DEBUG, every record of every logger captured as the operator's collector would
read it; no code, token, secret, password or personal datum may appear in it."""

from __future__ import annotations

import base64
import io
import json
import logging
import socket
import threading

import jwt
import pytest

from idp import logs
from idp.serving import make_idp_server
from tests.conftest import make_settings

from ..support.factories import make_account, make_client
from ..support.flows import Agency, Citizen, csrf_of
from ..support.live import free_port

REQUIRED = ("time", "level", "logger", "process", "message")
ACCESS = ("method", "endpoint", "status", "duration_ms", "request_id")
EMAIL = "eva" + "@example.hu"  # built, so that no traceback's source line shows it


@pytest.fixture
def collected(settings):
    """The real configuration of ``[logging]`` (level DEBUG, JSON), writing to a buffer."""
    settings.logging.level = "DEBUG"
    root = logging.getLogger()
    level = root.level
    buffer = io.StringIO()
    handler = logs.configure(settings.logging, stream=buffer)
    yield buffer
    root.removeHandler(handler)
    root.setLevel(level)


def events(buffer: io.StringIO) -> list[dict]:
    lines = buffer.getvalue().splitlines()
    assert lines, "nothing was logged"
    parsed = []
    for line in lines:
        event = json.loads(line)  # each line is one JSON object
        assert isinstance(event, dict), line
        for key in REQUIRED:
            assert key in event, (key, line)
        parsed.append(event)
    return parsed


def access_events(parsed: list[dict]) -> list[dict]:
    return [e for e in parsed if e["logger"] == "idp.access"]


def interaction_page(agency: Agency, response):
    """Follow the provider's redirects; the last page and its URL."""
    url = None
    for _ in range(10):
        if response.status_code not in (302, 303) or not response.headers["Location"].startswith("/"):
            return response, url
        url = response.headers["Location"]
        response = agency.http.get(url)
    raise AssertionError("too many redirects")


def test_main_flows_log_json_lines_without_a_secret_or_personal_datum(app, client, rt, collected):
    account = make_account(rt)
    citizen = Citizen(client, rt, account)
    c, secret = make_client(rt, post_logout_redirect_uris=["https://agency.example.hu/after"])
    agency = Agency(client, c, secret, offline=True)

    # A wrong password first (it must not be logged either), then the sign-in through the interaction.
    citizen.sign_in(password="wrong-password-Xy7!")
    page, login_url = interaction_page(agency, agency.authorize())
    assert page.status_code == 200 and login_url
    back = citizen.sign_in_at(login_url)
    assert back.status_code == 303
    consent_page = agency.follow(back)
    assert b'name="decision"' in consent_page.data
    code = agency.code_from(agency.follow(agency.consent(consent_page)))
    cookie = client.get_cookie(rt.settings.session_cookie_name).value

    tokens = agency.exchange(code).get_json()
    assert agency.exchange("no-such-code").status_code == 400  # invalid_grant, an error answer
    claims = agency.userinfo(tokens["access_token"]).get_json()
    assert agency.introspect(tokens["access_token"]).get_json()["active"] is True
    refreshed = agency.refresh(tokens["refresh_token"]).get_json()
    assert "access_token" in refreshed
    assert agency.revoke(refreshed["refresh_token"], "refresh_token").status_code == 200
    out = client.get("/end-session", query_string={"id_token_hint": tokens["id_token"],
                                                   "post_logout_redirect_uri": "https://agency.example.hu/after",
                                                   "state": "st-logout"})
    assert out.status_code in (302, 303)

    parsed = events(collected)
    # As written (JSON escapes non-ASCII: "Kov\u00e1cs") and as a collector reads it ("Kovács").
    text = collected.getvalue() + "\n".join(json.dumps(e, ensure_ascii=False) for e in parsed)
    id_claims = jwt.decode(tokens["id_token"], options={"verify_signature": False})
    never = {
        "authorization code": code,
        "access token": tokens["access_token"],
        "refresh token": tokens["refresh_token"],
        "ID token": tokens["id_token"],
        "ID token signature": tokens["id_token"].rsplit(".", 1)[1],
        "refreshed access token": refreshed["access_token"],
        "refreshed refresh token": refreshed["refresh_token"],
        "client secret": secret,
        "Basic credentials": base64.b64encode(f"{c.client_id}:{secret}".encode()).decode(),
        "session cookie": cookie,
        "password": citizen.password,
        "wrong password": "wrong-password-Xy7!",
        "PKCE verifier": agency.verifier,
        "nonce": agency.nonce,
        "state": agency.state,
        "sub": claims["sub"],
        "username": account.username,
        "email": account.email,
        "identifier": account.identifier,
        "given name": account.given_name,
        "family name": account.family_name,
        "birth date": account.birth_date.isoformat(),
        "document number": account.document_number,
        "street": account.address_street,
        "mother's name": account.mother_birth_given_name,
    }
    assert id_claims["sub"] == claims["sub"]
    for what, value in never.items():
        assert value and value not in text, f"the {what} reached the log"

    requests = access_events(parsed)
    assert len(requests) >= 15
    for event in requests:
        for key in ACCESS:
            assert key in event, (key, event)
        assert "?" not in event["endpoint"]
    by_endpoint = {}
    for event in requests:
        by_endpoint.setdefault(event["endpoint"], []).append(event)
    for endpoint in ("/token", "/userinfo", "/introspect", "/revoke"):
        assert all(e["client_id"] == c.client_id for e in by_endpoint[endpoint]), endpoint
    assert any(e.get("client_id") == c.client_id for e in by_endpoint["/authorize"])
    assert {e["status"] for e in by_endpoint["/token"]} == {200, 400}
    # Records logged while a request is served carry its id.
    assert all(e.get("request_id") for e in parsed if e["logger"].startswith("idp.web"))


def test_the_request_id_round_trips_and_a_malformed_one_is_replaced(client, collected):
    chosen = "lb-7f3a9c2e.0001"
    response = client.get("/.well-known/openid-configuration", headers={"X-Request-ID": chosen})
    assert response.headers["X-Request-ID"] == chosen
    for bad in ("has space", "x" * 200, "<script>", "semi;colon"):
        response = client.get("/.well-known/openid-configuration", headers={"X-Request-ID": bad})
        generated = response.headers["X-Request-ID"]
        assert generated != bad and len(generated) == 32
    plain = client.get("/.well-known/openid-configuration").headers["X-Request-ID"]
    ids = [e["request_id"] for e in access_events(events(collected))]
    assert ids[0] == chosen and ids[-1] == plain
    assert len(set(ids)) == len(ids)
    assert not any(bad in collected.getvalue() for bad in ("has space", "<script>", "x" * 200))


def test_a_failure_is_one_event_with_its_exception(settings, clock, _schema, collected):
    from sqlalchemy import text

    from idp.app import create_app
    from idp.extensions import db

    app = create_app(settings, clock=clock)

    def explode():
        raise RuntimeError("a failure deep inside")

    def database_error():
        # a statement the database refuses (NOT NULL): an error of the code, not an outage (which is a 503)
        db.session.execute(text("INSERT INTO office (code) VALUES (:email)"), {"email": EMAIL})

    app.add_url_rule("/explode", "explode", explode)
    app.add_url_rule("/database-error", "database_error", database_error)
    response = app.test_client().get("/explode?code=should-not-be-logged", headers={"X-Request-ID": "boom-1"})
    assert response.status_code == 500
    parsed = events(collected)
    failures = [e for e in parsed if e["level"] == "error"]
    assert len(failures) == 1
    assert "RuntimeError: a failure deep inside" in failures[0]["exception"]
    assert failures[0]["request_id"] == "boom-1"
    access = access_events(parsed)
    assert [(e["endpoint"], e["status"], e["request_id"]) for e in access] == [("/explode", 500, "boom-1")]
    assert "should-not-be-logged" not in collected.getvalue()

    # A database error's message names the statement, not its parameters.
    assert app.test_client().get("/database-error").status_code == 500
    failures = [e for e in events(collected) if e["level"] == "error"]
    assert len(failures) == 2 and "INSERT INTO office" in failures[1]["exception"]
    assert EMAIL not in collected.getvalue()


def test_console_format_is_for_a_person(settings):
    buffer = io.StringIO()
    settings.logging.format = "console"
    handler = logs.configure(settings.logging, stream=buffer)
    try:
        logging.getLogger("idp.test").warning("readable %s", "line", extra={"status": 503})
    finally:
        logging.getLogger().removeHandler(handler)
    line = buffer.getvalue().strip()
    assert "readable line" in line and "warning" in line and "status=503" in line
    with pytest.raises(json.JSONDecodeError):
        json.loads(line)


def test_libraries_that_log_secrets_stay_quiet_at_debug(collected):
    # The operator asked for DEBUG; Authlib (issued tokens) and SQLAlchemy (statement parameters) stay above it.
    for name, level in logs.QUIET.items():
        assert not logging.getLogger(name).isEnabledFor(level - 1), name


# -- idp serve: the built-in server ---------------------------------------------------------------


def test_idp_serve_answers_an_over_long_request_line_with_414(_schema, database_url, keys_dir, clock, tmp_path, collected):
    from idp.app import create_app

    port = free_port()
    app = create_app(make_settings(database_url, keys_dir, issuer=f"http://127.0.0.1:{port}",
                                   mail={"outbox_dir": str(tmp_path / "outbox")}), clock=clock)
    server = make_idp_server(app, "127.0.0.1", port)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        secret_query = "code=" + "A" * 70_000
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(f"GET /authorize?{secret_query} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            answer = sock.recv(4096)
        assert answer.startswith(b"HTTP/1.1 414") or answer.startswith(b"HTTP/1.0 414"), answer[:80]
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:  # and the server still answers
            sock.sendall(b"GET /.well-known/openid-configuration HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert sock.recv(4096).startswith(b"HTTP/1.1 200")
    finally:
        server.shutdown()
        thread.join(timeout=5)
    parsed = events(collected)
    assert [e["logger"] for e in parsed if e.get("status") == 414] == ["idp.serve"]  # one event
    assert "AAAAAAAAAA" not in collected.getvalue()


def test_csrf_token_and_form_bodies_are_not_logged(client, rt, collected):
    account = make_account(rt)
    page = client.get("/login")
    token = csrf_of(page.get_data(as_text=True))
    client.post("/login", data={"csrf_token": token, "username": account.username, "password": "Nope-Nope-123!"})
    text = collected.getvalue()
    assert token not in text and account.username not in text and "Nope-Nope-123!" not in text
