"""Rules around client authentication at the token, introspection, revocation and PAR endpoints.

- One method per request (RFC 6749 §2.3): Basic with a body secret or a client assertion, or a
  body secret with an assertion, is ``invalid_request``.
- A body ``client_id`` must name the client the Basic header authenticates.
- Failed authentications are throttled per client_id and per address (idp.sessions.throttle.
  ClientAuthThrottle, in the shared state): past the limit, 429 with ``Retry-After`` and an OAuth
  JSON body, the same for a client that exists and one that does not; the client's own servers
  (an address it authenticated from) keep working while its client_id is blocked.
"""

from __future__ import annotations

import base64
import os
import uuid

import pytest

from idp.sessions.throttle import ClientAuthThrottle, ClientThrottlePolicy
from idp.sharedstate import MemoryState, RedisState

from ..conftest import make_settings
from ..support.factories import make_client
from ..support.flows import Agency

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ENDPOINTS = ["/token", "/introspect", "/revoke", "/par"]
AGENCY = {"REMOTE_ADDR": "192.0.2.10"}
STRANGER = {"REMOTE_ADDR": "198.51.100.7"}
ELSEWHERE = {"REMOTE_ADDR": "203.0.113.99"}


@pytest.fixture
def settings(database_url, keys_dir, tmp_path):
    return make_settings(database_url, keys_dir, mail={"outbox_dir": str(tmp_path / "outbox")}, security={
        "client_auth_failures_before_block": 3, "client_auth_address_failures_before_block": 6,
    })


def basic(client_id: str, secret: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def body_for(path: str, agency: Agency) -> dict:
    if path == "/token":
        return {"grant_type": "refresh_token", "refresh_token": "nothing-like-it"}
    if path == "/par":
        return agency.authorize_params()
    return {"token": "nothing-like-it"}


def post(agency: Agency, path: str, *, secret: str | None = None, client_id: str | None = None, environ=None,
         extra: dict | None = None):
    headers = basic(client_id or agency.client.client_id, agency.secret if secret is None else secret)
    return agency.http.post(path, data={**body_for(path, agency), **(extra or {})}, headers=headers,
                            environ_overrides=environ or AGENCY)


def succeeded(response) -> bool:
    return response.status_code in (200, 201) or response.get_json().get("error") not in (
        "invalid_client", "invalid_request", "temporarily_unavailable")


# -- One method, one client ------------------------------------------------------------------------


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("second", [
    {"client_secret": "whatever"},
    {"client_assertion_type": ASSERTION_TYPE, "client_assertion": "a.b.c"},
], ids=["basic_and_client_secret", "basic_and_client_assertion"])
def test_two_authentication_methods_at_once_are_invalid_request(agency, path, second):
    response = post(agency, path, extra=second)
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_body_secret_and_an_assertion_are_invalid_request(client, rt, path):
    c, secret = make_client(rt, auth_method="client_secret_post")
    agency = Agency(client, c, secret)
    data = {**body_for(path, agency), "client_id": c.client_id, "client_secret": secret,
            "client_assertion_type": ASSERTION_TYPE, "client_assertion": "a.b.c"}
    response = client.post(path, data=data)
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_request"


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_body_client_id_other_than_the_basic_one_is_invalid_request(client, rt, agency, path):
    other, _ = make_client(rt)
    response = post(agency, path, extra={"client_id": other.client_id})
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_request"


@pytest.mark.parametrize("path", ENDPOINTS)
def test_the_same_client_id_in_the_body_and_basic_is_accepted(agency, path):
    assert succeeded(post(agency, path, extra={"client_id": agency.client.client_id}))


# -- Throttling ----------------------------------------------------------------------------------


def blocked(response) -> None:
    assert response.status_code == 429, response.get_data(as_text=True)
    assert int(response.headers["Retry-After"]) > 0
    assert response.mimetype == "application/json"
    assert response.get_json()["error"] == "temporarily_unavailable"
    assert response.headers["Cache-Control"] == "no-store"


def fail(agency: Agency, path: str, times: int, *, client_id: str | None = None, environ=STRANGER):
    for _ in range(times):
        response = post(agency, path, secret="wrong-secret", client_id=client_id, environ=environ)
        assert response.status_code == 401 and response.get_json()["error"] == "invalid_client"


@pytest.mark.parametrize("path", ENDPOINTS)
def test_failures_for_one_client_id_block_it(agency, path):
    fail(agency, path, 3)
    blocked(post(agency, path, secret="wrong-secret", environ=STRANGER))
    blocked(post(agency, path, environ=STRANGER))  # the right secret too, from an address it never used
    blocked(post(agency, path, environ=ELSEWHERE))


def test_the_answer_is_the_same_whether_the_client_exists_or_not(agency):
    fail(agency, "/token", 3)
    fail(agency, "/token", 3, client_id="no-such-client", environ=ELSEWHERE)
    known = post(agency, "/token", secret="wrong-secret", environ={"REMOTE_ADDR": "192.0.2.77"})
    unknown = post(agency, "/token", secret="wrong-secret", client_id="no-such-client",
                   environ={"REMOTE_ADDR": "192.0.2.78"})
    blocked(known)
    blocked(unknown)
    assert known.get_json() == unknown.get_json()
    assert set(known.headers.keys()) == set(unknown.headers.keys())


def test_the_agency_keeps_working_from_where_it_authenticated_while_its_client_id_is_blocked(agency):
    assert succeeded(post(agency, "/introspect", environ=AGENCY))
    fail(agency, "/token", 3)
    blocked(post(agency, "/token", environ=STRANGER))
    assert succeeded(post(agency, "/introspect", environ=AGENCY))
    assert succeeded(post(agency, "/token", environ=AGENCY))


def test_failures_from_one_address_block_the_address_for_every_client(client, rt, agency):
    for n in range(6):  # a different (unknown) client each time: only the address counter reaches its limit
        fail(agency, "/introspect", 1, client_id=f"guess-{n}")
    blocked(post(agency, "/introspect", environ=STRANGER))  # even the right credentials
    blocked(agency.http.post("/token", data={"grant_type": "authorization_code", "code": "x"},
                             environ_overrides=STRANGER))
    assert succeeded(post(agency, "/introspect", environ=AGENCY))


def test_a_success_does_not_hide_failures_and_blocks_end_with_the_window(client, rt):
    now = [1_000_000.0]
    rt.client_throttle = ClientAuthThrottle(
        MemoryState(monotonic=lambda: now[0]), ClientThrottlePolicy(client_block_after=3, window_seconds=900),
        wallclock=lambda: now[0])
    c, secret = make_client(rt)
    agency = Agency(client, c, secret)
    fail(agency, "/revoke", 3)
    blocked(post(agency, "/revoke", environ=STRANGER))
    now[0] += 901
    assert succeeded(post(agency, "/revoke", environ=STRANGER))


def test_the_throttle_counts_in_redis_across_instances(client, rt):
    url = os.environ.get("IDP_TEST_REDIS_URL")
    if not url:
        pytest.skip("Redis not configured: set IDP_TEST_REDIS_URL")
    prefix = f"test-{uuid.uuid4().hex}:"
    policy = ClientThrottlePolicy(client_block_after=3, address_block_after=6)
    rt.client_throttle = ClientAuthThrottle(RedisState(url, prefix=prefix), policy)
    c, secret = make_client(rt)
    agency = Agency(client, c, secret)
    fail(agency, "/token", 2)
    rt.client_throttle = ClientAuthThrottle(RedisState(url, prefix=prefix), policy)  # another instance
    fail(agency, "/token", 1)
    blocked(post(agency, "/token", environ=STRANGER))
