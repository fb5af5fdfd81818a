"""Measure what a suggested hot-path change saves, in process: ``bench/run --hotpath``.

The load figures of ``bench/run`` move by ±20 % from run to run on a shared
2-core VM, more than one saved statement is worth. This measures instead the
CPU time one request costs the provider, in one process, through the Flask test
client against the same PostgreSQL database: blocks of requests with and
without each experiment of ``bench/experiments.py``, alternated (A B B A ...)
so that drift cancels; each round's with/without ratio is taken and the median
and middle half of those ratios reported. CPU time of this process
is what the provider's worker would spend (no gunicorn, no concurrency); the
database's own work and the round-trip waits come on top and are given by the
statement counts.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import statistics
import time

from sqlalchemy import event
from sqlalchemy.engine import Engine

import experiments

_count = {"on": False, "n": 0}


@event.listens_for(Engine, "before_cursor_execute")
def _counted(conn, cursor, statement, parameters, context, executemany):
    if _count["on"]:
        _count["n"] += 1


class Agency:
    """The benchmark's client and citizens, driving one app through its test client."""

    def __init__(self, app, seed: dict):
        self.http = app.test_client()
        self.seed = seed
        self.next = 0
        raw = f"{seed['client_id']}:{seed['client_secret']}".encode()
        self.basic = {"Authorization": "Basic " + base64.b64encode(raw).decode()}

    def authorize(self, n: int) -> list[tuple[str, str]]:
        out = []
        for _ in range(n):
            verifier = secrets.token_urlsafe(48)
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            cookie = self.seed["sessions"][self.next % len(self.seed["sessions"])]
            self.next += 1
            self.http.set_cookie(self.seed["cookie_name"], cookie, domain="localhost")
            r = self.http.get("/authorize", query_string={
                "response_type": "code", "client_id": self.seed["client_id"], "redirect_uri": self.seed["redirect_uri"],
                "scope": "openid profile email", "state": secrets.token_urlsafe(8), "nonce": secrets.token_urlsafe(16),
                "code_challenge": challenge, "code_challenge_method": "S256",
            })
            if r.status_code != 302 or "code=" not in r.headers.get("Location", ""):
                raise RuntimeError(f"authorize: {r.status_code} {r.get_data(as_text=True)[:300]}")
            out.append((r.headers["Location"].split("code=", 1)[1].split("&", 1)[0], verifier))
        return out

    def token(self, codes) -> list[str]:
        out = []
        for code, verifier in codes:
            r = self.http.post("/token", headers=self.basic, data={
                "grant_type": "authorization_code", "code": code, "redirect_uri": self.seed["redirect_uri"],
                "code_verifier": verifier,
            })
            if r.status_code != 200:
                raise RuntimeError(f"token: {r.status_code} {r.get_data(as_text=True)[:300]}")
            out.append(r.get_json()["access_token"])
        return out

    def userinfo(self, access_tokens) -> None:
        for value in access_tokens:
            r = self.http.get("/userinfo", headers={"Authorization": f"Bearer {value}"})
            if r.status_code != 200:
                raise RuntimeError(f"userinfo: {r.status_code} {r.get_data(as_text=True)[:300]}")

    def introspect(self, access_tokens) -> None:
        for value in access_tokens:
            r = self.http.post("/introspect", headers=self.basic,
                               data={"token": value, "token_type_hint": "access_token"})
            if r.status_code != 200 or r.get_json().get("active") is not True:
                raise RuntimeError(f"introspect: {r.status_code} {r.get_data(as_text=True)[:300]}")


def block(agency: Agency, endpoint: str, n: int) -> tuple[float, float, float]:
    """(CPU ms, wall ms, statements) per request of ``endpoint`` (per flow for ``flow``); its inputs are made untimed."""
    if endpoint == "flow":
        run = lambda: agency.userinfo(agency.token(agency.authorize(n)))  # noqa: E731
    elif endpoint == "token":
        work = agency.authorize(n)
        run = lambda: agency.token(work)  # noqa: E731
    elif endpoint == "userinfo":
        work = agency.token(agency.authorize(n))
        run = lambda: agency.userinfo(work)  # noqa: E731
    elif endpoint == "introspect":
        work = agency.token(agency.authorize(n))
        run = lambda: agency.introspect(work)  # noqa: E731
    else:
        run = lambda: agency.authorize(n)  # noqa: E731
    _count.update(on=True, n=0)
    cpu, wall = time.process_time(), time.perf_counter()
    run()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    _count["on"] = False
    return cpu / n * 1e3, wall / n * 1e3, _count["n"] / n


def measure(base_app, noping_app, seed: dict, names: list[str], rounds: int, n: int, log) -> list[list[str]]:
    base = Agency(base_app, seed)
    noping = Agency(noping_app, seed)
    rows = []
    for name in names:
        for endpoint in (("flow",) if name == "all" else experiments.AFFECTS[name]):
            results = {"base": [], "exp": []}

            def run_exp(name=name, endpoint=endpoint):
                if name == "no_pre_ping":
                    return block(noping, endpoint, n)
                if name == "all":  # every change at once, on the whole flow
                    revert = experiments.apply(set(experiments.AFFECTS) - {"no_pre_ping"} - experiments.BOUNDS)
                    agency = noping
                else:
                    revert = experiments.apply({name})
                    agency = base
                try:
                    return block(agency, endpoint, n)
                finally:
                    revert()

            block(base, endpoint, max(20, n // 5))  # warm both sides: caches, prepared statements
            run_exp()
            for i in range(rounds):
                order = ("base", "exp") if i % 2 == 0 else ("exp", "base")
                for side in order:
                    results[side].append(block(base, endpoint, n) if side == "base" else run_exp())
            # Paired: each round's blocks ran back to back, under the same conditions (the other vCPU's
            # load changes what a CPU millisecond buys on this VM), so compare within rounds.
            cpu_ratio = [e[0] / b[0] for b, e in zip(results["base"], results["exp"], strict=True)]
            wall_ratio = [e[1] / b[1] for b, e in zip(results["base"], results["exp"], strict=True)]
            b_cpu = statistics.median(r[0] for r in results["base"])
            b_wall = statistics.median(r[1] for r in results["base"])
            b_sql, e_sql = results["base"][-1][2], results["exp"][-1][2]
            log(f"hotpath {name} {endpoint}: cpu ratios {', '.join(f'{r:.2f}' for r in cpu_ratio)}")
            rows.append([
                name, endpoint,
                f"{b_sql:.1f}+ping -> {e_sql:.1f}" if name in ("no_pre_ping", "all") else f"{b_sql:.1f} -> {e_sql:.1f}",
                f"{b_cpu:.2f}", _change(cpu_ratio), f"{b_wall:.2f}", _change(wall_ratio),
            ])
    return rows


def _change(ratios: list[float]) -> str:
    """Median change with the middle half of the rounds' changes, e.g. ``-7% (-9..-5)``."""
    q = statistics.quantiles(ratios, n=4) if len(ratios) >= 2 else [ratios[0]] * 3
    return f"{q[1] - 1:+.0%} ({q[0] - 1:+.0%}..{q[2] - 1:+.0%})"


HEADER = ["experiment", "endpoint", "statements", "CPU ms/req before", "CPU change (IQR)", "wall ms/req before",
          "wall change (IQR)"]
