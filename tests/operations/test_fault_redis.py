"""Redis does not answer: password sign-ins fail closed (503 with ``Retry-After``, the same answer
for any username: SECURITY.md "Faults"), while signed-in citizens and the token endpoint go on."""

from __future__ import annotations

import pytest

from ..conftest import make_settings
from ..support.flows import csrf_of
from ..support.live import free_port


@pytest.fixture
def settings(database_url, keys_dir, tmp_path):
    dead = f"redis://127.0.0.1:{free_port()}/0"
    return make_settings(database_url, keys_dir, mail={"outbox_dir": str(tmp_path / "outbox")},
                         shared_state={"redis_url": dead})


def _attempt(client, username: str, password: str):
    page = client.get("/login")
    assert page.status_code == 200
    return client.post("/login", data={"csrf_token": csrf_of(page.get_data(as_text=True)), "username": username,
                                       "password": password})


def test_password_sign_in_fails_closed_the_same_for_every_username(client, citizen):
    answers = [_attempt(client, name, pw) for name, pw in (
        (citizen.account.username, citizen.password),
        (citizen.account.username, "wrong password"),
        ("nobody-by-this-name", "wrong password"),
    )]
    for response in answers:
        assert response.status_code == 503
        assert int(response.headers["Retry-After"]) > 0
        assert "bejelentkezés és a kódok ellenőrzése átmenetileg nem érhető el" in response.get_data(as_text=True)
    bodies = {r.get_data(as_text=True) for r in answers}
    assert len(bodies) == 1, "the answer must not tell known from unknown usernames"
    assert "Set-Cookie" not in answers[0].headers or "idp_session" not in answers[0].headers["Set-Cookie"]


def test_signed_in_citizens_and_the_token_endpoint_go_on(client, citizen, agency):
    citizen.signed_in_quickly()
    assert client.get("/account").status_code == 200
    agency.offline = True  # a refresh token needs offline access (OIDC Core §11)
    tokens = agency.tokens()
    refreshed = agency.refresh(tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.get_json()
    assert agency.userinfo(refreshed.get_json()["access_token"]).status_code == 200
    assert agency.introspect(refreshed.get_json()["access_token"]).get_json()["active"] is True


def test_readiness_names_redis(client):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["redis"] == "unavailable"


def test_private_key_jwt_fails_closed_without_the_replay_cache(client, citizen, rt):
    """The ``jti`` of a client assertion cannot be checked for replay (RFC 7523 §3): 503, not accepted."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    from ..oidc.test_protocol_client_auth import assertion, exchange_with_assertion, public_jwks
    from ..support.factories import make_client
    from ..support.flows import Agency

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    c, _ = make_client(rt, auth_method="private_key_jwt", jwks=public_jwks(key))
    agency = Agency(client, c, None)
    citizen.signed_in_quickly()
    response = exchange_with_assertion(agency, agency.get_code(), assertion(rt, c.client_id, key))
    assert response.status_code == 503
    assert response.get_json()["error"] == "temporarily_unavailable"
    assert response.headers["Retry-After"]
