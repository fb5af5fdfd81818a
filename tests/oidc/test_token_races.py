"""Concurrent reuse of one refresh token (RFC 9700 §4.14.2) on PostgreSQL: exactly one rotation
wins, every loser gets ``invalid_grant`` (never a 500, never a deadlock), and the family is revoked.

Real concurrency: threads against the provider served on a local port. SQLite serializes every
writer, so the race only exists on PostgreSQL (``IDP_TEST_DATABASE_URL``)."""

from __future__ import annotations

import threading

import pytest
import requests

from ..support.factories import make_account, make_client
from ..support.flows import Agency, Citizen

PARALLEL = 8
ROUNDS = 10


@pytest.fixture
def postgres_only(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite serializes writers: the refresh race needs PostgreSQL (IDP_TEST_DATABASE_URL)")


def _at_once(n: int, call) -> list[requests.Response]:
    start = threading.Barrier(n)
    results: list[requests.Response] = []

    def run():
        start.wait()
        results.append(call())

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_parallel_refreshes_of_one_token_have_one_winner_and_revoke_the_family(postgres_only, live):
    base, app = live
    rt = app.extensions["idp"]
    http = app.test_client()
    Citizen(http, rt, make_account(rt)).signed_in_quickly()
    c, secret = make_client(rt)
    agency = Agency(http, c, secret, offline=True)  # a refresh token needs offline access (OIDC Core §11)
    auth = (c.client_id, secret)
    for _ in range(ROUNDS):
        first = agency.tokens()
        form = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
        results = _at_once(PARALLEL, lambda form=form: requests.post(f"{base}/token", data=form, auth=auth, timeout=30))
        statuses = sorted(r.status_code for r in results)
        detail = [(r.status_code, r.text[:200]) for r in results]
        assert statuses == [200] + [400] * (PARALLEL - 1), detail
        assert {r.json()["error"] for r in results if r.status_code == 400} == {"invalid_grant"}, detail
        winner = next(r.json() for r in results if r.status_code == 200)
        # A refresh token used twice means a copy exists: the whole family ends (RFC 9700 §4.14.2).
        for token in (first["access_token"], winner["access_token"], winner["refresh_token"]):
            assert requests.post(f"{base}/introspect", data={"token": token}, auth=auth, timeout=30).json() == {
                "active": False
            }


def test_replays_of_a_rotated_token_racing_the_current_one_never_fail(postgres_only, live):
    """The old token replayed (family revocation) while the current one is refreshed: no deadlock."""
    base, app = live
    rt = app.extensions["idp"]
    http = app.test_client()
    Citizen(http, rt, make_account(rt)).signed_in_quickly()
    c, secret = make_client(rt)
    agency = Agency(http, c, secret, offline=True)  # a refresh token needs offline access (OIDC Core §11)
    auth = (c.client_id, secret)
    for _ in range(ROUNDS):
        first = agency.tokens()
        second = agency.refresh(first["refresh_token"]).get_json()
        forms = [{"grant_type": "refresh_token", "refresh_token": t}
                 for t in (first["refresh_token"], second["refresh_token"]) * (PARALLEL // 2)]
        it = iter(forms)
        lock = threading.Lock()

        def call(it=it, lock=lock):
            with lock:
                form = next(it)
            return requests.post(f"{base}/token", data=form, auth=auth, timeout=30)

        results = _at_once(PARALLEL, call)
        detail = [(r.status_code, r.text[:200]) for r in results]
        assert all(r.status_code in (200, 400) for r in results), detail
        assert sum(r.status_code == 200 for r in results) <= 1, detail
        assert {r.json()["error"] for r in results if r.status_code == 400} == {"invalid_grant"}, detail
        for r in results:
            if r.status_code == 200:
                token = r.json()["access_token"]
                assert requests.post(f"{base}/introspect", data={"token": token}, auth=auth,
                                     timeout=30).json() == {"active": False}
