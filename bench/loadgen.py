"""The load generator: one process, one asyncio loop, a raw HTTP/1.1 client on keep-alive sockets.

Run by ``bench/run`` once per phase (``python loadgen.py SPEC.json OUT.json``),
so that its CPU time is its own and can be reported. It is deliberately thin:
requests are pre-formatted bytes, responses are parsed only as far as the
status, ``Content-Length``, ``Connection`` and ``Location`` headers, so it
costs a small fraction of what the server spends per request.

Phases (``spec["phase"]``):

* ``ping``      GET /_ref/ping (bare Flask, the framework ceiling)
* ``discovery`` GET /.well-known/openid-configuration (the provider, no database)
* ``mint``      GET /authorize with a session cookie -> 302 with a code; the codes
                (with their PKCE verifiers) are written out for ``token``
* ``token``     POST /token, each pre-minted code once (client_secret_basic)
* ``flow``      the whole SSO flow: authorize -> token -> userinfo, timed per
                request and per flow
* ``userinfo``  GET /userinfo, cycling over the access tokens the last ``token``
                phase wrote out
* ``introspect`` POST /introspect (client_secret_basic) of those access tokens

The server is ``spec["server_pid"]`` with its children: gunicorn's master and
workers, or the peer's node process in ``bench/run --race``. The same requests
go to both: an authorize answer may be 302 or 303, and a session cookie is
either ``cookie_name=secret`` or, for the peer, a whole ``Cookie`` header value.

The measured window's CPU time of the server's, PostgreSQL's and this
process's processes is read from /proc here, at the window's edges.
PostgreSQL counts the cluster's background processes and the backends of
``spec["database"]`` only: other databases' backends (other people's tests on
the same cluster) are other load.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import resource
import secrets
import sys
import time
from collections import defaultdict
from urllib.parse import quote

# -- CPU accounting from /proc ---------------------------------------------------

TICK = os.sysconf("SC_CLK_TCK")


def _proc_cpu(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None


def _children(ppid: int) -> list[int]:
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[1]) == ppid:
            out.append(int(name))
    return out


#: PostgreSQL's own processes; every other process title names a client backend's user and database
PG_BACKGROUND = (b"checkpointer", b"background writer", b"walwriter", b"autovacuum", b"logical replication",
                 b"archiver", b"stats", b"wal ", b"parallel worker", b"startup", b"io worker")


def postgres_pids(database: str | None = None) -> list[int]:
    """The cluster's processes; with ``database``, client backends of other databases are left out."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/comm", "rb") as fh:
                comm = fh.read().strip()
            if not (comm.startswith(b"postgres") or comm.startswith(b"postmaster")):
                continue
            with open(f"/proc/{name}/cmdline", "rb") as fh:
                title = fh.read().replace(b"\0", b" ").strip()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if database and title.startswith(b"postgres: "):
            # "postgres: 15/main: USER DATABASE HOST(PORT) STATE", or "postgres: 15/main: walwriter"
            what = title.rsplit(b": ", 1)[-1]
            fields = what.split()
            if not what.startswith(PG_BACKGROUND) and len(fields) >= 2 and fields[1] != database.encode():
                continue
        out.append(int(name))
    return out


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, all cores."""
    with open("/proc/stat") as fh:
        parts = [int(x) for x in fh.readline().split()[1:]]
    idle = parts[3] + (parts[4] if len(parts) > 4 else 0)
    total = sum(parts[:8])
    return (total - idle) / TICK, total / TICK


def cpu_snapshot(server_pid: int | None, database: str | None = None) -> dict:
    groups: dict[str, dict[int, float]] = {"server": {}, "postgres": {}}
    if server_pid:
        for pid in [server_pid, *_children(server_pid)]:
            value = _proc_cpu(pid)
            if value is not None:
                groups["server"][pid] = value
    for pid in postgres_pids(database):
        value = _proc_cpu(pid)
        if value is not None:
            groups["postgres"][pid] = value
    usage = resource.getrusage(resource.RUSAGE_SELF)
    busy, total = machine_cpu()
    return {
        "groups": groups,
        "self": usage.ru_utime + usage.ru_stime,
        "machine_busy": busy,
        "machine_total": total,
        "t": time.monotonic(),
    }


def cpu_delta(before: dict, after: dict) -> dict:
    """CPU seconds used per group between two snapshots (a process new since ``before`` counts from 0)."""
    out = {}
    for name, now in after["groups"].items():
        was = before["groups"][name]
        out[name] = sum(v - was.get(pid, 0.0) for pid, v in now.items())
    out["loadgen"] = after["self"] - before["self"]
    out["machine_busy"] = after["machine_busy"] - before["machine_busy"]
    out["machine_total"] = after["machine_total"] - before["machine_total"]
    out["wall"] = after["t"] - before["t"]
    return out


# -- a minimal HTTP/1.1 client ---------------------------------------------------


class Response:
    __slots__ = ("status", "body", "location", "worker", "close")

    def __init__(self, status: int, body: bytes, location: str | None, worker: str | None, close: bool):
        self.status = status
        self.body = body
        self.location = location
        self.worker = worker
        self.close = close


#: responses per gunicorn worker (from the X-Bench-Worker header bench/wsgi_app.py adds)
PER_WORKER: dict[str, int] = defaultdict(int)


class Connection:
    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader = self.writer = None
        self.host_header = f"Host: {host}:{port}\r\n".encode()
        self.connects = 0

    async def _open(self):
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.connects += 1

    def close(self):
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def request(self, method: str, target: str, headers: bytes = b"", body: bytes = b"") -> Response:
        head = f"{method} {target} HTTP/1.1\r\n".encode() + self.host_header + headers
        if body or method == "POST":
            head += b"Content-Length: %d\r\n" % len(body)
        payload = head + b"\r\n" + body
        for attempt in (0, 1):
            reused = self.writer is not None
            if not reused:
                await self._open()
            try:
                self.writer.write(payload)
                raw = await self.reader.readuntil(b"\r\n\r\n")
            except (ConnectionError, asyncio.IncompleteReadError) as exc:
                self.close()
                # A kept-alive socket the server closed meanwhile: nothing was processed, retry once.
                if reused and attempt == 0 and not getattr(exc, "partial", b""):
                    continue
                raise
            break
        lines = raw.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length, close, location, worker = 0, False, None, None
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            lname = name.lower()
            if lname == b"content-length":
                length = int(value)
            elif lname == b"connection":
                close = value.strip().lower() == b"close"
            elif lname == b"location":
                location = value.strip().decode("latin-1")
            elif lname == b"x-bench-worker":
                worker = value.strip().decode()
            elif lname == b"transfer-encoding":
                raise RuntimeError("chunked responses are not supported by the load generator")
        body = await self.reader.readexactly(length) if length else b""
        if close:
            self.close()
        if worker:
            PER_WORKER[worker] += 1
        return Response(status, body, location, worker, close)


# -- the phases ------------------------------------------------------------------


class Recorder:
    def __init__(self):
        self.latencies: dict[str, list[int]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.samples: dict[str, list[str]] = defaultdict(list)
        self.last_done = 0.0

    def ok(self, label: str, started: int) -> None:
        self.latencies[label].append(time.perf_counter_ns() - started)

    def error(self, label: str, what: str, body: bytes | str = b"") -> None:
        key = f"{label}: {what}"
        self.errors[key] += 1
        if len(self.samples[key]) < 3:
            text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
            self.samples[key].append(text[:600])


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def code_of(location: str | None) -> str | None:
    if not location:
        return None
    start = location.find("?code=")
    if start < 0:
        start = location.find("&code=")
    if start < 0:
        return None
    start += 6
    end = location.find("&", start)
    return location[start:end if end >= 0 else None]


def json_field(body: bytes, name: str) -> str | None:
    try:
        return json.loads(body).get(name)
    except ValueError:
        return None


class Scenario:
    def __init__(self, spec: dict, rec: Recorder):
        self.spec = spec
        self.rec = rec
        seed = spec["seed"]
        self.client_id = seed["client_id"]
        self.redirect_uri = seed["redirect_uri"]
        # Whole Cookie header values: ours is one cookie, the peer's a signed pair (bench/race.py).
        self.cookies = seed.get("cookie_headers") or [f"{seed['cookie_name']}={s}" for s in seed["sessions"]]
        self.basic = b"Authorization: Basic " + base64.b64encode(
            f"{quote(seed['client_id'], safe='')}:{quote(seed['client_secret'], safe='')}".encode()
        ) + b"\r\n"
        self.form = b"Content-Type: application/x-www-form-urlencoded\r\n"
        self.redirect_q = quote(self.redirect_uri, safe="")
        self.next_citizen = 0
        self.codes: list[tuple[str, str]] = []  # (code, verifier), filled by mint, consumed by token
        self.minted: list[tuple[str, str]] = []
        self.issued: list[str] = []  # access tokens of the token phase, for userinfo and introspect
        self.access: list[str] = []
        self.next_access = 0

    def _citizen_cookie(self) -> bytes:
        cookie = self.cookies[self.next_citizen % len(self.cookies)]
        self.next_citizen += 1
        return f"Cookie: {cookie}\r\n".encode()

    def _access_token(self) -> str:
        value = self.access[self.next_access % len(self.access)]
        self.next_access += 1
        return value

    async def authorize(self, conn: Connection, label: str = "authorize") -> tuple[str, str] | None:
        verifier, challenge = pkce()
        target = (
            f"/authorize?response_type=code&client_id={self.client_id}&redirect_uri={self.redirect_q}"
            f"&scope=openid%20profile%20email&state={secrets.token_urlsafe(12)}&nonce={secrets.token_urlsafe(16)}"
            f"&code_challenge={challenge}&code_challenge_method=S256"
        )
        started = time.perf_counter_ns()
        resp = await conn.request("GET", target, self._citizen_cookie())
        code = code_of(resp.location) if resp.status in (302, 303) else None
        if code is None:
            self.rec.error(label, f"HTTP {resp.status}", (resp.location or "").encode() + b" " + resp.body)
            return None
        self.rec.ok(label, started)
        return code, verifier

    async def token(self, conn: Connection, code: str, verifier: str, label: str = "token") -> str | None:
        body = (
            f"grant_type=authorization_code&code={quote(code, safe='')}&redirect_uri={self.redirect_q}"
            f"&code_verifier={verifier}"
        ).encode()
        started = time.perf_counter_ns()
        resp = await conn.request("POST", self.spec.get("token_path", "/token"), self.basic + self.form, body)
        if resp.status != 200 or b'"id_token"' not in resp.body:
            self.rec.error(label, f"HTTP {resp.status}", resp.body)
            return None
        self.rec.ok(label, started)
        return json_field(resp.body, "access_token")

    async def userinfo(self, conn: Connection, access_token: str, label: str = "userinfo") -> bool:
        started = time.perf_counter_ns()
        resp = await conn.request("GET", "/userinfo", f"Authorization: Bearer {access_token}\r\n".encode())
        if resp.status != 200 or b'"sub"' not in resp.body:
            self.rec.error(label, f"HTTP {resp.status}", resp.body)
            return False
        self.rec.ok(label, started)
        return True

    async def introspect(self, conn: Connection, access_token: str, label: str = "introspect") -> bool:
        body = f"token={quote(access_token, safe='')}&token_type_hint=access_token".encode()
        started = time.perf_counter_ns()
        resp = await conn.request("POST", "/introspect", self.basic + self.form, body)
        if resp.status != 200 or b'"active":true' not in resp.body.replace(b" ", b""):
            self.rec.error(label, f"HTTP {resp.status}", resp.body)
            return False
        self.rec.ok(label, started)
        return True

    async def get(self, conn: Connection, target: str, label: str) -> None:
        started = time.perf_counter_ns()
        resp = await conn.request("GET", target)
        if resp.status != 200:
            self.rec.error(label, f"HTTP {resp.status}", resp.body)
            return
        self.rec.ok(label, started)

    async def one(self, conn: Connection) -> bool:
        """One unit of the phase; False when there is nothing left to do."""
        phase = self.spec["phase"]
        if phase == "ping":
            await self.get(conn, "/_ref/ping", "ping")
        elif phase == "discovery":
            await self.get(conn, "/.well-known/openid-configuration", "discovery")
        elif phase == "mint":
            if len(self.minted) >= self.spec.get("max_units", 1 << 30):
                return False
            got = await self.authorize(conn)
            if got:
                self.minted.append(got)
        elif phase == "token":
            if not self.codes:
                return False
            code, verifier = self.codes.pop()
            access = await self.token(conn, code, verifier)
            if access:
                self.issued.append(access)
        elif phase == "userinfo":
            await self.userinfo(conn, self._access_token())
        elif phase == "introspect":
            await self.introspect(conn, self._access_token())
        elif phase == "flow":
            started = time.perf_counter_ns()
            got = await self.authorize(conn)
            if got is None:
                return True
            access = await self.token(conn, *got)
            if access is None:
                return True
            if await self.userinfo(conn, access):
                self.rec.ok("flow", started)
        else:
            raise ValueError(f"unknown phase {phase}")
        self.rec.last_done = time.monotonic()
        return True


async def virtual_user(scenario: Scenario, conn: Connection, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            if not await scenario.one(conn):
                return
        except (ConnectionError, asyncio.IncompleteReadError, OSError) as exc:
            scenario.rec.error(scenario.spec["phase"], f"connection: {type(exc).__name__}", str(exc))
            conn.close()
            await asyncio.sleep(0.05)


def percentiles(values: list[int]) -> dict:
    if not values:
        return {"count": 0}
    ordered = sorted(values)
    n = len(ordered)

    def q(p: float) -> float:
        return ordered[min(n - 1, max(0, int(-(-p * n // 1)) - 1))] / 1e6

    return {"count": n, "mean": sum(ordered) / n / 1e6, "p50": q(0.50), "p90": q(0.90), "p99": q(0.99), "max": ordered[-1] / 1e6}


async def balance(conns: list[Connection], workers: int, attempts: int = 40) -> list[str]:
    """Spread the keep-alive connections evenly over the workers.

    gunicorn's gthread worker keeps a connection for its whole life, and which worker
    accepts it is a race; with a handful of connections one worker can end up with most
    of them and the other core half idle. A load balancer with a keep-alive pool has the
    same problem; here the benchmark evens it out (and reports it) so that runs compare.
    With the sync worker every response closes the connection and there is nothing to do.
    """
    share = -(-len(conns) // workers)
    owners: dict[str, int] = defaultdict(int)
    placed = []
    for conn in conns:
        for _ in range(attempts):
            resp = await conn.request("GET", "/_ref/ping")
            if resp.close or resp.worker is None:
                placed.append("per-request connections")
                break
            if owners[resp.worker] < share:
                owners[resp.worker] += 1
                placed.append(resp.worker)
                break
            conn.close()
        else:
            placed.append("unbalanced")
    PER_WORKER.clear()
    return placed


async def run(spec: dict) -> dict:
    rec = Recorder()
    scenario = Scenario(spec, rec)
    if spec["phase"] == "token":
        with open(spec["codes_file"]) as fh:
            scenario.codes = [tuple(x) for x in json.load(fh)]
        scenario.codes.reverse()  # oldest first
    if spec["phase"] in ("userinfo", "introspect"):
        with open(spec["tokens_file"]) as fh:
            scenario.access = json.load(fh)
    conns = [Connection(spec["host"], spec["port"]) for _ in range(spec["concurrency"])]
    placement = await balance(conns, spec.get("workers", 1)) if spec.get("balance", True) else []
    before = cpu_snapshot(spec.get("server_pid"), spec.get("database"))
    started = time.monotonic()
    deadline = started + spec["seconds"]
    await asyncio.gather(*(virtual_user(scenario, c, deadline) for c in conns))
    ended = time.monotonic()
    after = cpu_snapshot(spec.get("server_pid"), spec.get("database"))
    for c in conns:
        c.close()
    if spec["phase"] == "mint":
        with open(spec["codes_file"], "w") as fh:
            json.dump(scenario.minted, fh)
    if spec["phase"] == "token" and spec.get("tokens_file"):
        with open(spec["tokens_file"], "w") as fh:
            json.dump(scenario.issued, fh)
    return {
        "phase": spec["phase"],
        "concurrency": spec["concurrency"],
        "wall": ended - started,
        "latency": {label: percentiles(v) for label, v in rec.latencies.items()},
        "errors": dict(rec.errors),
        "error_samples": dict(rec.samples),
        "connections_opened": sum(c.connects for c in conns),
        "placement": placement,
        "per_worker": dict(PER_WORKER),
        "cpu": cpu_delta(before, after),
        "codes_left": len(scenario.codes),
    }


def main() -> None:
    with open(sys.argv[1]) as fh:
        spec = json.load(fh)
    result = asyncio.run(run(spec))
    with open(sys.argv[2], "w") as fh:
        json.dump(result, fh)


if __name__ == "__main__":
    main()
