"""Two gunicorn instances on one PostgreSQL and one Redis, as README "Run" describes, with a
client that alternates instances: single sign-on, code exchange and refresh across instances;
the races; readiness and the answers through a database restart and a Redis outage.

The recovery times printed here (``-s``) are the figures in README "Operate"."""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from urllib.parse import urlencode

import pytest
import requests

from idp.app import create_app
from idp.settings import load_settings

from ..support.factories import PASSWORD, make_account, make_client
from ..support.flows import pkce_pair, query_of
from ..support.live import CSRF, browser_sign_in, follow_to_callback
from .conftest import wait_until

pytestmark = pytest.mark.fleet

REDIRECT = "https://agency.example.hu/callback"


@pytest.fixture(scope="module")
def people(fleet):
    """A citizen and two agencies, created through the domain on the fleet's database."""
    from idp.extensions import db

    app = create_app(load_settings(fleet.config, environ={}))
    with app.app_context():
        rt = app.extensions["idp"]
        account = make_account(rt)
        agencies = [make_client(rt, redirect_uri=REDIRECT) for _ in range(2)]
        made = {"username": account.username, "agencies": [(c.client_id, s) for c, s in agencies]}
        db.session.remove()
        db.engine.dispose()
    return made


class Browser:
    """A citizen's browser whose every request goes to the next instance."""

    def __init__(self, fleet):
        self.http = requests.Session()
        self.bases = itertools.cycle(fleet.bases)

    def authorize_url(self, client_id: str) -> tuple[str, str, str]:
        verifier, challenge = pkce_pair()
        state = "s" + str(time.monotonic_ns())
        # Offline access (a refresh token: OIDC Core §11) asked every time, so the consent page is passed too.
        params = {"response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT,
                  "scope": "openid profile offline_access", "prompt": "consent", "state": state, "nonce": "n" + state, "code_challenge": challenge, "code_challenge_method": "S256"}
        return f"{next(self.bases)}/authorize?{urlencode(params)}", verifier, state


def _code_of(location: str, state: str) -> str:
    params = query_of(location)
    assert params.get("state") == state and "code" in params, location
    return params["code"]


def exchange(base: str, agency, code: str, verifier: str) -> requests.Response:
    return requests.post(f"{base}/token", auth=agency, timeout=30, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "code_verifier": verifier})


def refresh(base: str, agency, token: str) -> requests.Response:
    return requests.post(f"{base}/token", auth=agency, timeout=30,
                         data={"grant_type": "refresh_token", "refresh_token": token})


def fresh_tokens(fleet, people, browser: Browser) -> dict:
    """A code through the signed-in browser (single sign-on), exchanged at the other instance."""
    agency = people["agencies"][0]
    url, verifier, state = browser.authorize_url(agency[0])
    location = follow_to_callback(browser.http, browser.http.get(url, allow_redirects=False), REDIRECT)
    response = exchange(next(browser.bases), agency, _code_of(location, state), verifier)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(scope="module")
def browser(fleet, people):
    """Signed in at the first instance (consenting for both agencies)."""
    b = Browser(fleet)
    for client_id, _ in people["agencies"]:
        url, _verifier, _state = b.authorize_url(client_id)
        if client_id == people["agencies"][0][0]:
            response = browser_sign_in(b.http, url, people["username"], PASSWORD)
        else:
            response = b.http.get(url, allow_redirects=False)
        follow_to_callback(b.http, response, REDIRECT)
    return b


def at_once(calls) -> list[requests.Response]:
    start = threading.Barrier(len(calls))
    results: list = []

    def run(call):
        start.wait()
        try:
            results.append(call())
        except requests.RequestException as exc:  # a dropped connection counts as a failure too
            results.append(exc)

    threads = [threading.Thread(target=run, args=(c,)) for c in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_single_sign_on_code_exchange_and_refresh_across_instances(fleet, people, browser):
    agency = people["agencies"][1]
    for _ in range(2):
        # Signed in through the other instance, the browser is not asked to sign in again.
        url, verifier, state = browser.authorize_url(agency[0])
        first = browser.http.get(url, allow_redirects=False)
        location = follow_to_callback(browser.http, first, REDIRECT)
        code = _code_of(location, state)
        tokens = exchange(next(browser.bases), agency, code, verifier)
        assert tokens.status_code == 200, tokens.text
        token = tokens.json()["refresh_token"]
        for base in fleet.bases * 2:
            rotated = refresh(base, agency, token)
            assert rotated.status_code == 200, rotated.text
            token = rotated.json()["refresh_token"]
            info = requests.get(f"{next(browser.bases)}/userinfo", timeout=30,
                                headers={"Authorization": f"Bearer {rotated.json()['access_token']}"})
            assert info.status_code == 200, info.text


def test_parallel_exchanges_of_one_code_have_one_winner(fleet, people, browser):
    agency = people["agencies"][0]
    for _ in range(3):
        url, verifier, state = browser.authorize_url(agency[0])
        code = _code_of(follow_to_callback(browser.http, browser.http.get(url, allow_redirects=False), REDIRECT), state)
        results = at_once([lambda b=b, c=code, v=verifier: exchange(b, agency, c, v) for b in fleet.bases * 3])
        statuses = Counter(getattr(r, "status_code", type(r).__name__) for r in results)
        assert statuses == Counter({200: 1, 400: 5}), statuses
        assert {r.json()["error"] for r in results if r.status_code == 400} == {"invalid_grant"}


def test_parallel_refreshes_of_one_token_have_one_winner(fleet, people, browser):
    agency = people["agencies"][0]
    for _ in range(3):
        token = fresh_tokens(fleet, people, browser)["refresh_token"]
        results = at_once([lambda b=b, t=token: refresh(b, agency, t) for b in fleet.bases * 3])
        statuses = Counter(getattr(r, "status_code", type(r).__name__) for r in results)
        assert statuses == Counter({200: 1, 400: 5}), statuses
        assert {r.json()["error"] for r in results if r.status_code == 400} == {"invalid_grant"}
        winner = next(r.json() for r in results if r.status_code == 200)
        # The reuse revoked the family, including what the winner received.
        assert refresh(fleet.bases[0], agency, winner["refresh_token"]).json()["error"] == "invalid_grant"


class Traffic:
    """Requests alternating instances in the background; every status (or exception) kept."""

    def __init__(self, fleet, people, browser):
        self.fleet, self.people, self.browser = fleet, people, browser
        self.seen: list[tuple[float, str, object]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.agency = people["agencies"][0]

    def _one(self, base: str, what: str) -> object:
        if what == "readyz":
            return requests.get(f"{base}/readyz", timeout=15).status_code
        if what == "token":
            return refresh(base, self.agency, "not-a-refresh-token").status_code
        if what == "authorize":
            url, _v, _s = self.browser.authorize_url(self.agency[0])
            return self.browser.http.get(url.replace(url.split("/authorize")[0], base), allow_redirects=False,
                                         timeout=15).status_code
        return requests.get(f"{base}/", timeout=15).status_code

    def _run(self) -> None:
        for base, what in itertools.cycle(itertools.product(self.fleet.bases, ("readyz", "token", "authorize", "home"))):
            if self.stop.is_set():
                return
            try:
                status = self._one(base, what)
            except requests.RequestException as exc:
                status = type(exc).__name__
            self.seen.append((time.monotonic(), what, status))
            time.sleep(0.05)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=30)

    def failures(self) -> list:
        return [s for s in self.seen if not (isinstance(s[2], int) and (s[2] < 500 or s[2] == 503))]


def _ready(base: str) -> requests.Response:
    return requests.get(f"{base}/readyz", timeout=15)


def test_database_restart_flips_readiness_and_never_answers_500(fleet, people, browser):
    agency = people["agencies"][0]
    with Traffic(fleet, people, browser) as traffic:
        time.sleep(0.5)
        fleet.postgres.stop()
        stopped = time.monotonic()
        for base in fleet.bases:
            wait_until(lambda b=base: _ready(b).status_code == 503, 30, "readiness to flip to 503")
            body = _ready(base).json()
            assert body["checks"]["database"] == "unavailable", body
            assert "Retry-After" in _ready(base).headers
        during = refresh(fleet.bases[1], agency, "x")
        assert during.status_code == 503 and during.json()["error"] == "temporarily_unavailable"
        assert during.headers["Retry-After"]
        page = requests.get(f"{fleet.bases[0]}/account", cookies=browser.http.cookies, timeout=15)
        assert page.status_code == 503 and page.headers["Retry-After"]
        time.sleep(3)  # an outage of a few seconds, under traffic
        fleet.postgres.start()
        started = time.monotonic()
        recovery = max(wait_until(lambda b=base: _ready(b).status_code == 200, 60, "readiness back at 200")
                       for base in fleet.bases)
        time.sleep(1)
    last_503 = max((t for t, _w, s in traffic.seen if s == 503), default=started)
    print(f"\nFLEET database outage {started - stopped:.1f}s; readiness back {recovery:.1f}s after the database; "
          f"last 503 to traffic {max(last_503 - started, 0):.1f}s after it")
    assert not traffic.failures(), traffic.failures()
    assert any(s == 503 for _t, _w, s in traffic.seen)
    # The same instances, not restarted, serve the whole flow again.
    assert all(i.process.poll() is None for i in fleet.instances)
    tokens = fresh_tokens(fleet, people, browser)
    for base in fleet.bases:
        rotated = refresh(base, agency, tokens["refresh_token"])
        assert rotated.status_code == 200, rotated.text
        tokens = rotated.json()


def _sign_in_attempt(base: str, username: str, password: str) -> requests.Response:
    http = requests.Session()
    page = http.get(f"{base}/login", timeout=15)
    assert page.status_code == 200, page.status_code
    return http.post(f"{base}/login", timeout=15, allow_redirects=False,
                     data={"csrf_token": CSRF.search(page.text).group(1), "username": username, "password": password})


def _signs_in(base: str, username: str) -> bool:
    response = _sign_in_attempt(base, username, PASSWORD)
    return response.status_code == 303 and "/login" not in response.headers["Location"]


def test_redis_outage_refuses_password_sign_ins_and_keeps_the_signed_in_working(fleet, people, browser):
    agency = people["agencies"][0]
    tokens = fresh_tokens(fleet, people, browser)
    with Traffic(fleet, people, browser) as traffic:
        fleet.redis.stop()
        stopped = time.monotonic()
        for base in fleet.bases:
            wait_until(lambda b=base: _ready(b).status_code == 503, 30, "readiness to flip to 503")
            assert _ready(base).json()["checks"]["redis"] == "unavailable"
            # Password sign-ins fail closed: 503 with Retry-After, the same for any username.
            for username in (people["username"], "nobody-by-this-name"):
                refused = _sign_in_attempt(base, username, "wrong password")
                assert refused.status_code == 503, refused.status_code
                assert refused.headers["Retry-After"]
            # The signed-in citizen, the token endpoint and userinfo go on.
            rotated = refresh(base, agency, tokens["refresh_token"])
            assert rotated.status_code == 200, rotated.text
            tokens = rotated.json()
            info = requests.get(f"{base}/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"},
                                timeout=15)
            assert info.status_code == 200
        fresh_tokens(fleet, people, browser)  # single sign-on and code exchange need no Redis
        time.sleep(2)
        fleet.redis.start()
        started = time.monotonic()
        recovery = max(wait_until(lambda b=base: _ready(b).status_code == 200, 60, "readiness back at 200")
                       for base in fleet.bases)
        signed = wait_until(lambda: _signs_in(fleet.bases[1], people["username"]), 60, "password sign-in back")
    last_503 = max((t for t, _w, s in traffic.seen if s == 503), default=started)
    print(f"\nFLEET Redis outage {started - stopped:.1f}s; readiness back {recovery:.1f}s, sign-in back {signed:.1f}s "
          f"after Redis; last 503 to traffic {max(last_503 - started, 0):.1f}s after it")
    assert not traffic.failures(), traffic.failures()


def test_faults_left_one_line_each_in_the_log_and_no_traceback(fleet):
    for instance in fleet.instances:
        text = instance.log.read_text(errors="replace")
        assert "unavailable on" in text, "the outages above were logged"
        assert "Traceback" not in text, text[text.find("Traceback") - 2000:text.find("Traceback") + 3000]
        assert " 500 " not in text
