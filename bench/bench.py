"""The benchmark driver behind ``bench/run`` (see bench/README.md).

Sets up the ``idp_bench`` PostgreSQL database, seeds citizens with sign-in
sessions and consent plus one client, measures the in-process references,
starts gunicorn on a free loopback port, runs the load phases through
``loadgen.py`` (a separate process, so its CPU is its own), prints the tables,
and always stops gunicorn and drops the database.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:0] = [str(ROOT), str(BENCH)]

import loadgen  # noqa: E402

DB_NAME = os.environ.get("BENCH_DB", "idp_bench")  # another name lets two benchmarks share a cluster
REDIRECT_URI = "https://agency.example.hu/callback"


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- database ----------------------------------------------------------------------


def admin_execute(server_url: str, *statements: str) -> None:
    import psycopg

    with psycopg.connect(server_url.replace("postgresql+psycopg://", "postgresql://") + "/postgres", autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def create_database(server_url: str) -> None:
    import psycopg

    # A leftover of an earlier run has nobody connected; one with connections is someone's run in progress.
    with psycopg.connect(server_url.replace("postgresql+psycopg://", "postgresql://") + "/postgres") as conn:
        users = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (DB_NAME,)).fetchone()[0]
    if users:
        raise SystemExit(f"bench/run: {DB_NAME} has {users} connection(s): another benchmark is running; "
                         "wait for it to finish (it drops the database itself)")
    admin_execute(server_url, f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)", f"CREATE DATABASE {DB_NAME}")


def drop_database(server_url: str) -> None:
    admin_execute(server_url, f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")


# -- set-up in process: schema, keys, seed, references ------------------------------


def provider_env(server: str, tmp: Path, port: int, **extra) -> dict:
    """The provider's configuration, from the environment (fresh secrets each run)."""
    return dict(
        os.environ,
        IDP_SERVER_ISSUER=f"http://127.0.0.1:{port}",
        IDP_SERVER_DEVELOPMENT="true",
        IDP_SERVER_SECRET_KEY=secrets.token_urlsafe(48),
        IDP_KEYS_PASSPHRASE=secrets.token_urlsafe(24),
        IDP_KEYS_DIR=str(tmp / "keys"),
        IDP_SECURITY_PAIRWISE_SECRET=secrets.token_urlsafe(48),
        IDP_DATABASE_URL=f"{server}/{DB_NAME}",
        # Codes are minted before the exchange phase starts, so they must outlive the minting.
        IDP_TOKENS_AUTHORIZATION_CODE_SECONDS="600",
        IDP_MAIL_OUTBOX_DIR=str(tmp / "outbox"),  # nothing is mailed; keep even the folder out of the tree
        **extra,
    )


SCOPE = "openid profile email"


def seed(app, citizens: int, race: bool = False) -> dict:
    """One client, ``citizens`` active accounts, each with a live sign-in session and consent.

    With ``race`` (``bench/run --race``): a second client whose ID tokens are ES256, consent to it
    too, one more citizen kept apart for the checks (a replayed code revokes what it touches), and
    each citizen's claims as released for the scope, for the peer to serve the same ones.
    """
    from flask_migrate import upgrade

    from idp.accounts import assurance
    from idp.app import MIGRATIONS, check_keys
    from idp.extensions import db
    from idp.authorizations import consent
    from idp.oidc import claims as claim_rules
    from idp.sessions import service as sessions
    from tests.support.factories import make_account, make_client

    rt = app.extensions["idp"]
    with app.app_context():
        upgrade(directory=str(MIGRATIONS))
        check_keys(app)
        client, secret = make_client(rt, name="Bench agency", redirect_uri=REDIRECT_URI)
        clients = [client]
        if race:
            es_client, es_secret = make_client(rt, name="Bench agency ES256", redirect_uri=REDIRECT_URI, alg="ES256")
            clients.append(es_client)
        cookies, accounts = [], {}
        for n in range(citizens + (1 if race else 0)):
            account = make_account(rt, username=f"bench{n}")
            now = rt.now()
            _, cookie = sessions.start(db.session, account, now, ["pwd"], assurance.LOW)
            for c in clients:
                consent.record(db.session, account.id, c.id, SCOPE, now)
            cookies.append(cookie)
            if race:
                released = claim_rules.user_claims(claim_rules.Subject(account, client, SCOPE), SCOPE, rt.pairwise_secret)
                accounts[account.identifier] = {k: v for k, v in released.items() if k != "sub"}
            if n % 200 == 199:
                db.session.commit()
        db.session.commit()
        result = {
            "client_id": client.client_id,
            "client_secret": secret,
            "redirect_uri": REDIRECT_URI,
            "cookie_name": rt.settings.session_cookie_name,
            "sessions": cookies[:citizens],
        }
        if race:
            result.update(
                es256={"client_id": es_client.client_id, "client_secret": es_secret},
                check_session=cookies[citizens],
                accounts=accounts,  # identifier -> claims, in the order of the sessions (and the check citizen last)
                issuer=rt.issuer,
                pairwise_secret=rt.settings.security.pairwise_secret,
                sector=client.sector_identifier,
            )
        db.session.remove()
        db.engine.dispose()
    return result


def reference_signing(app, seconds: float = 1.5) -> dict:
    """RS256 ID-token signing with the provider's own key object, one core, no I/O."""
    from joserfc import jwt
    from joserfc.jwk import RSAKey

    rt = app.extensions["idp"]
    key = rt.keyring.current("RS256")
    now = int(time.time())
    claims = {
        "iss": rt.issuer, "aud": "x" * 24, "iat": now, "exp": now + 600, "auth_time": now, "nonce": "n" * 22,
        "acr": "http://eidas.europa.eu/LoA/low", "amr": ["pwd"], "at_hash": "a" * 22, "sid": "s" * 32,
        "sub": "u" * 43, "name": "Kovács Éva", "family_name": "Kovács", "given_name": "Éva",
        "birthdate": "1980-01-02", "locale": "hu", "email": "bench0@example.hu", "email_verified": True,
    }
    header = {"alg": "RS256", "kid": key.kid, "typ": "JWT"}
    for _ in range(20):
        jwt.encode(header, claims, key, ["RS256"])
    n, started = 0, time.perf_counter()
    cpu0 = time.process_time()
    while time.perf_counter() - started < seconds:
        for _ in range(50):
            jwt.encode(header, claims, key, ["RS256"])
        n += 50
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu0
    # The cost the STYLE note warns about: importing the PEM (what a per-request loader would pay).
    info = next(i for i in rt.keyring.list() if i.alg == "RS256" and i.retired_at is None)
    pem = (rt.keyring.directory / info.file).read_bytes()
    passphrase = rt.settings.keys.passphrase.encode()
    t0 = time.perf_counter()
    imports = 5
    for _ in range(imports):
        RSAKey.import_key(pem, password=passphrase)
    import_ms = (time.perf_counter() - t0) / imports * 1e3
    return {"signs": n, "wall": wall, "cpu": cpu, "per_core": n / cpu, "import_ms": import_ms}


# -- gunicorn ---------------------------------------------------------------------


def server_label(args) -> str:
    """The HTTP server the provider runs under in this benchmark, as the reports name it."""
    if args.worker_class == "granian":
        return f"granian {args.workers} workers x {args.threads} blocking threads (WSGI)"
    return f"gunicorn {args.workers} x {args.worker_class}" + (f" ({args.threads} threads)" if args.worker_class == "gthread" else "")


def _gunicorn_command(args, port: int) -> list[str]:
    cmd = [
        str(Path(sys.executable).with_name("gunicorn")),
        "-c", str(BENCH / "gunicorn_conf.py"),
        "--pythonpath", str(BENCH),
        "--chdir", str(ROOT),
        "-b", f"127.0.0.1:{port}",
        "-w", str(args.workers),
        "-k", args.worker_class,
    ]
    if args.worker_class == "gthread":
        cmd += ["--threads", str(args.threads)]
    return [*cmd, "wsgi_app:application"]


def _granian_command(args, port: int) -> list[str]:
    """granian instead of gunicorn (``--worker-class granian``), to measure what the HTTP server costs."""
    granian = Path(sys.executable).with_name("granian")
    if not granian.exists():
        raise SystemExit("--worker-class granian: granian is not installed (pip install granian into the venv)")
    return [
        str(granian), "--interface", "wsgi", "--host", "127.0.0.1",
        "--port", str(port), "--workers", str(args.workers), "--blocking-threads", str(args.threads),
        "--runtime-threads", "1", "--working-dir", str(ROOT), "--log-level", "warning", "--no-ws",
        "wsgi_app:application",
    ]


class Gunicorn:
    """The provider's HTTP server in the benchmark: gunicorn, or granian with ``--worker-class granian``."""

    def __init__(self, args, env: dict, port: int, tmp: Path):
        self.port = port
        self.error_log = tmp / "gunicorn-error.log"
        env = dict(env, BENCH_ERROR_LOG=str(self.error_log))
        if args.worker_class == "granian":
            self.cmd = _granian_command(args, port)
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(BENCH), env.get("PYTHONPATH")]))
        else:
            self.cmd = _gunicorn_command(args, port)
        self.env = env
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(self.cmd, env=self.env, cwd=ROOT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}:\n{self.errors()}")
            if len(self.workers()) >= 1:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/_ref/ping", timeout=2) as r:
                        if r.status == 200:
                            break
                except OSError:
                    pass
            time.sleep(0.2)
        else:
            raise RuntimeError(f"gunicorn did not start:\n{self.errors()}")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def workers(self) -> list[int]:
        return loadgen._children(self.proc.pid) if self.proc else []

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)  # graceful: workers run worker_exit and dump SQL counts
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)

    def errors(self) -> str:
        try:
            return self.error_log.read_text()[-4000:]
        except FileNotFoundError:
            return ""


# -- phases -------------------------------------------------------------------------


def machine_busy(seconds: float = 2.0) -> float:
    """Share of the machine's CPU busy over ``seconds`` (all cores)."""
    b0, t0 = loadgen.machine_cpu()
    time.sleep(seconds)
    b1, t1 = loadgen.machine_cpu()
    return (b1 - b0) / max(t1 - t0, 1e-9)


def wait_quiet(max_wait: float, threshold: float = 0.15, sample: float = 2.0) -> float:
    """Wait (up to ``max_wait`` s) until other work leaves the machine mostly idle; returns the last reading."""
    deadline = time.monotonic() + max_wait
    busy = machine_busy(sample)
    while busy > threshold and time.monotonic() < deadline:
        log(f"machine {busy:.0%} busy with other work; waiting for it to calm down")
        busy = machine_busy(5.0)
    return busy


def run_phase(name: str, phase: str, args, seed_data: dict, server, tmp: Path, seconds: float, *, wait: bool = True,
              **extra) -> dict:
    """One phase through ``loadgen.py`` against ``server`` (gunicorn, or the peer of ``--race``, which
    passes ``workers=1, balance=False`` and its own files in ``extra``)."""
    spec = {
        "phase": phase,
        "host": "127.0.0.1",
        "port": server.port,
        "concurrency": args.concurrency,
        "workers": args.workers,
        "balance": not args.no_balance,
        "seconds": seconds,
        "seed": seed_data,
        "server_pid": server.pid,
        "database": DB_NAME,
        "codes_file": str(tmp / "codes.json"),
        **extra,
    }
    if wait and args.wait_quiet > 0:
        t0 = time.monotonic()
        wait_quiet(args.wait_quiet)
        args.wait_quiet -= time.monotonic() - t0  # one budget for the whole run, so it stays bounded
    spec_file, out_file = tmp / f"spec-{name}.json", tmp / f"out-{name}.json"
    spec_file.write_text(json.dumps(spec))
    log(f"phase {name}: {phase}, concurrency {args.concurrency}, up to {seconds:g} s")
    subprocess.run([sys.executable, str(BENCH / "loadgen.py"), str(spec_file), str(out_file)], check=True)
    result = json.loads(out_file.read_text())
    result["name"] = name
    served = sorted(result["per_worker"].values(), reverse=True)
    if served:
        log(f"phase {name}: responses per worker {served}")
    if result["errors"]:
        log(f"phase {name}: errors {result['errors']}")
    return result


# -- reporting ---------------------------------------------------------------------


def _fmt(x, digits=1):
    return "-" if x is None else f"{x:,.{digits}f}"


def throughput_rows(results: dict, sign: dict, workers: int) -> list[list[str]]:
    ping = results.get("ping")
    ping_rps = ping["latency"]["ping"]["count"] / ping["wall"] if ping else None
    sign_ceiling = sign["per_core"] * workers
    rows = []

    def row(label, phase, key, unit="req"):
        if phase not in results:
            return
        lat = results[phase]["latency"].get(key, {"count": 0})
        count = lat["count"]
        rps = count / results[phase]["wall"] if count else 0.0
        errors = sum(v for k, v in results[phase]["errors"].items() if k.startswith(key) or k.startswith(phase))
        rows.append([
            label, f"{count:,}", f"{errors:,}", _fmt(rps), _fmt(lat.get("p50"), 2), _fmt(lat.get("p90"), 2),
            _fmt(lat.get("p99"), 2), f"{rps / ping_rps:.1%}" if ping_rps else "-",
            f"{rps / sign_ceiling:.1%}" if key in ("token", "flow") else "",
        ])

    row("reference: bare Flask JSON (/_ref/ping)", "ping", "ping")
    row("provider: discovery (no database)", "discovery", "discovery")
    row("(a) authorize alone (minting codes)", "mint", "authorize")
    row("(a) code exchange: POST /token", "token", "token")
    row("(b) SSO flow, per flow (3 requests)", "flow", "flow", unit="flow")
    row("(b)   authorize in the flow", "flow", "authorize")
    row("(b)   token in the flow", "flow", "token")
    row("(b)   userinfo in the flow", "flow", "userinfo")
    return rows


def table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(str(h).ljust(w) if i == 0 else str(h).rjust(w) for i, (h, w) in enumerate(zip(header, widths, strict=True))),
        "  ".join("-" * w for w in widths),
    ]
    for r in rows:
        lines.append("  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))))
    return "\n".join(lines)


UNITS = {"ping": "ping", "discovery": "discovery", "mint": "authorize", "token": "token", "flow": "flow"}


def cpu_rows(results: dict, cores: int) -> list[list[str]]:
    rows = []
    for name, unit in UNITS.items():
        if name not in results:
            continue
        cpu = results[name]["cpu"]
        n = max(results[name]["latency"].get(unit, {}).get("count", 0), 1)
        capacity = cpu["wall"] * cores
        other = cpu["machine_busy"] - cpu["server"] - cpu["postgres"] - cpu["loadgen"]
        idle = capacity - cpu["machine_busy"]
        rows.append([
            f"{name} (per {unit})", _fmt(cpu["wall"]),
            f"{cpu['server'] / capacity:.0%}", f"{cpu['postgres'] / capacity:.0%}",
            f"{cpu['loadgen'] / capacity:.0%}", f"{max(other, 0) / capacity:.0%}", f"{max(idle, 0) / capacity:.0%}",
            _fmt(cpu["server"] / n * 1e3, 2), _fmt(cpu["postgres"] / n * 1e3, 2), _fmt(cpu["loadgen"] / n * 1e3, 2),
            f"{cpu['loadgen'] / max(cpu['server'], 1e-9):.0%}",
            _split(results[name].get("per_worker", {})),
        ])
    return rows


def _split(per_worker: dict) -> str:
    total = sum(per_worker.values())
    if not total:
        return "-"
    return "/".join(f"{v / total:.0%}" for v in sorted(per_worker.values(), reverse=True))


def sql_rows(stats_dir: Path, pre_ping: bool = True) -> tuple[list[list[str]], dict]:
    merged: dict[str, dict] = {}
    for path in glob.glob(str(stats_dir / "sql-*.json")):
        data = json.loads(Path(path).read_text())
        for key, s in data["endpoints"].items():
            m = merged.setdefault(key, {"requests": 0, "statements": 0, "commits": 0, "rollbacks": 0, "checkouts": 0,
                                        "min": None, "max": 0, "sample": None})
            for name in ("requests", "statements", "commits", "rollbacks", "checkouts"):
                m[name] += s[name]
            m["min"] = s["min"] if m["min"] is None else min(m["min"], s["min"])
            m["max"] = max(m["max"], s["max"])
            m["sample"] = m["sample"] or s["sample"]
    rows = []
    for key in ("GET /authorize", "POST /token", "GET /userinfo", "GET /.well-known/openid-configuration"):
        m = merged.get(key)
        if not m or not m["requests"]:
            continue
        n = m["requests"]
        statements = m["statements"] / n
        round_trips = statements + (m["commits"] + m["rollbacks"] + (m["checkouts"] if pre_ping else 0)) / n
        rows.append([key, f"{n:,}", f"{statements:.2f}", f"{m['min']}-{m['max']}", f"{m['commits'] / n:.2f}",
                     f"{m['checkouts'] / n:.2f}", f"{round_trips:.2f}"])
    return rows, merged


def report(args, results: dict, sign: dict, stats_dir: Path, started: datetime) -> str:
    cores = os.cpu_count() or 1
    out = []
    out.append(f"idp benchmark, {started:%Y-%m-%d %H:%M} UTC; {cores} cores; {server_label(args)}"
               + f"; PostgreSQL on 127.0.0.1; {args.citizens} citizens; concurrency {args.concurrency}"
               + (f"; EXPERIMENTS: {', '.join(args.experiment)}" if args.experiment else ""))
    out.append("")
    out.append("Throughput and latency (ms). 'vs ping' = req/s relative to the bare-Flask reference in the same gunicorn;")
    out.append(f"'vs RS256' = req/s relative to RS256 signing alone with the provider's key object on {args.workers} cores "
               f"({sign['per_core']:,.0f} signatures/s per core -> {sign['per_core'] * args.workers:,.0f}/s).")
    header = ["scenario", "ok", "errors", "req/s", "p50", "p90", "p99", "vs ping", "vs RS256"]
    out.append(table(header, throughput_rows(results, sign, args.workers)))
    out.append("")
    out.append(f"RS256 key import from encrypted PEM (what a per-request key loader would pay): {sign['import_ms']:.1f} ms")
    out.append("")
    out.append(f"CPU split over each phase's wall time, as a share of the machine ({cores} cores):")
    out.append("(shares of the machine; then CPU milliseconds per request or flow, which other load on the machine")
    out.append("does not distort the way it distorts req/s)")
    out.append(table(["phase", "wall s", "gunicorn", "postgres", "loadgen", "other", "idle",
                      "gunicorn ms", "postgres ms", "loadgen ms", "loadgen/gunicorn", "worker split"],
                     cpu_rows(results, cores)))
    noisy = [n for n, r in results.items()
             if (r["cpu"]["machine_busy"] - r["cpu"]["server"] - r["cpu"]["postgres"] - r["cpu"]["loadgen"])
             > 0.10 * r["cpu"]["wall"] * cores]
    if noisy:
        out.append(f"CAUTION: other processes used more than 10% of the machine during {', '.join(noisy)}: "
                   "those figures are low; run again on a quiet machine.")
    out.append("")
    rows, merged = sql_rows(stats_dir, pre_ping=not ({"no_pre_ping", "all"} & set(args.experiment)))
    out.append("SQL per request (SQLAlchemy events in bench/wsgi_app.py, all workers, all phases):")
    out.append("(round trips = statements + COMMIT + the pool's pre-ping, one per connection checkout)")
    out.append(table(["endpoint", "requests", "statements", "min-max", "commits", "pool checkouts", "round trips"],
                     rows))
    for key in ("GET /authorize", "POST /token", "GET /userinfo"):
        m = merged.get(key)
        if m and m["sample"]:
            out.append(f"  {key}:")
            for text in m["sample"]:
                out.append(f"    {text}")
    errors = {f"{name}: {k}": v for name, r in results.items() for k, v in r["errors"].items()}
    out.append("")
    if errors:
        out.append("Errors (unexpected responses), with sample bodies:")
        for name, r in results.items():
            for k, v in r["errors"].items():
                out.append(f"  {name}: {k}: {v}")
                for sample in r["error_samples"].get(k, []):
                    out.append(f"      {sample!r}")
    else:
        out.append("Errors: none (every authorize answered 302 with a code, every token and userinfo 200).")
    return "\n".join(out)


def run_hotpath(args, app, seed_data: dict, t_start: float) -> int:
    import experiments
    import hotpath
    from idp import create_app
    from idp.security.passwords import Passwords

    revert = experiments.apply({"no_pre_ping"})
    try:
        noping_app = create_app(passwords=Passwords(1, 1024, 1))
    finally:
        revert()
    names = args.experiment or [*sorted(experiments.AFFECTS), "all"]
    rows = hotpath.measure(app, noping_app, seed_data, names, args.rounds, args.block, log)
    print(f"Hot-path experiments in process (Flask test client, PostgreSQL on 127.0.0.1), "
          f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores: {args.rounds} rounds of "
          f"{args.block} requests each side, alternated; change = median of the rounds' ratios (middle half)")
    print(table(hotpath.HEADER, rows))
    print(f"\nwhole run: {time.monotonic() - t_start:.0f} s")
    return 0


# -- main --------------------------------------------------------------------------


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="bench/run", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--citizens", type=int, default=500, help="citizens seeded, each with a session and consent (500)")
    p.add_argument("--concurrency", type=int, default=8, help="simultaneous virtual users / connections (8)")
    p.add_argument("--seconds", type=float, default=15, help="duration cap of each measured phase (15)")
    p.add_argument("--codes", type=int, default=6000, help="codes minted for the code-exchange phase (6000)")
    p.add_argument("--workers", type=int, default=2, help="gunicorn workers (2)")
    p.add_argument("--worker-class", default="gthread", choices=["gthread", "sync", "granian"], help="gunicorn worker class (gthread), or granian instead of gunicorn")
    p.add_argument("--threads", type=int, default=4, help="threads per gthread worker (4)")
    p.add_argument("--experiment", action="append", default=[], metavar="NAME",
                   help="patch a suggested hot-path change into the workers (bench/experiments.py): "
                        "no_pre_ping, client_cache, release_prebuilt, prebuilt_statements, no_release (a bound, never in "
                        "all), or all; "
                        "repeatable")
    p.add_argument("--no-balance", action="store_true",
                   help="keep whatever worker the kernel hands each keep-alive connection to (see README)")
    p.add_argument("--server", default=os.environ.get("BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432"),
                   help="PostgreSQL server URL without database (BENCH_PG)")
    p.add_argument("--keep-db", action="store_true", help="leave the idp_bench database for inspection")
    p.add_argument("--profile", action="store_true",
                   help="after the measured phases, mint codes again and record the workers with py-spy during a "
                        "token phase (not part of the figures)")
    p.add_argument("--wait-quiet", type=float, default=60, metavar="S",
                   help="before each phase, wait for other work on the machine to stop, at most S seconds in all (60; 0: never)")
    p.add_argument("--profile-raw", metavar="DIR", help="with --profile: keep py-spy's collapsed stacks in DIR")
    p.add_argument("--hotpath", action="store_true",
                   help="instead of the load phases: measure in process what each --experiment saves per request "
                        "(default: each, then all together on the whole flow), alternating blocks with and "
                        "without it (bench/hotpath.py)")
    p.add_argument("--rounds", type=int, default=10, help="--hotpath: blocks per side (10)")
    p.add_argument("--block", type=int, default=50, help="--hotpath: requests per block (50)")
    p.add_argument("--race", action="store_true",
                   help="instead of the load phases: the provider against node oidc-provider 9 (installed from npm "
                        "into ~/.cache/idp-bench), checked and measured side by side, interleaved (bench/race.py)")
    p.add_argument("--floor", action="store_true",
                   help="--race: also measure the floor of the exchange on these parts (bare Flask, psycopg and "
                        "joserfc, bench/floor.py) against the peer's exchange; --profile: record the floor's "
                        "exchange instead of ours'")
    p.add_argument("--race-rounds", type=int, default=3, help="--race: rounds, each side going first in turn (3)")
    p.add_argument("--race-seconds", type=float, default=5, help="--race: seconds per row and side in a round (5)")
    p.add_argument("--signin", action="store_true",
                   help="instead of the load phases: a password sign-in against one bare argon2id verify with the "
                        "default parameters, in process on SQLite (bench/signin.py; about a minute)")
    p.add_argument("--scale", action="store_true",
                   help="instead of the load phases: seed a million citizens (COPY) and a thousand, compare the SSO "
                        "flow's p99 on both, and time `idp jobs run` over the million (bench/scale.py)")
    p.add_argument("--scale-citizens", type=int, default=1_000_000, help="--scale: the big population (1,000,000)")
    p.add_argument("--scale-small", type=int, default=1_000, help="--scale: the small population (1,000)")
    p.add_argument("--scale-sessions", type=int, default=500,
                   help="--scale: live sessions the load signs in with, spread over each population (500)")
    p.add_argument("--scale-rounds", type=int, default=3, help="--scale: interleaved latency rounds per size (3)")
    p.add_argument("--scale-seconds", type=float, default=10, help="--scale: seconds per latency round (10)")
    p.add_argument("--scale-concurrency", type=int, default=4, help="--scale: connections of the latency load (4)")
    p.add_argument("--scale-batch", type=int, default=200, help="--scale: idp jobs run --batch-size (200)")
    p.add_argument("--scale-job-runs", type=int, default=2,
                   help="--scale: timed single runs of idp jobs run, each on a fresh copy; then one of two at once (2)")
    p.add_argument("--scale-backlog-days", type=float, default=1,
                   help="--scale: days of expiries and reminders due, as if the jobs had not run for that long (1)")
    p.add_argument("--scale-skip-latency", action="store_true", help="--scale: only the seeding and the jobs")
    p.add_argument("--scale-skip-jobs", action="store_true", help="--scale: only the seeding and the latency")
    p.add_argument("--phases", default="ping,discovery,mint,token,flow",
                   help="phases to run (default all; token implies mint; without ping no 'vs ping' column)")
    p.add_argument("--json", metavar="FILE", help="also write the raw results as JSON")
    args = p.parse_args(argv)
    if args.floor and not (args.race or args.profile):
        p.error("--floor goes with --race or --profile")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.scale:
        import scale

        return scale.run(args, SimpleNamespace(run_phase=run_phase), log)
    if args.signin:
        import signin

        print(signin.report(signin.run()))
        return 0
    started = datetime.now(UTC)
    t_start = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="idp-bench-"))
    stats_dir = tmp / "stats"
    stats_dir.mkdir()
    port = free_port()
    env = provider_env(args.server, tmp, port, BENCH_STATS_DIR=str(stats_dir), BENCH_EXPERIMENTS=",".join(args.experiment))
    env.pop("IDP_CONFIG", None)
    os.environ.update({k: v for k, v in env.items() if k.startswith("IDP_")})
    server = None
    created_db = False
    try:
        log(f"database {DB_NAME} on {args.server}")
        create_database(args.server)
        created_db = True

        from idp import create_app
        from idp.security.passwords import Passwords

        # Cheap argon2 for seeding only: no request in the benchmark verifies a password.
        app = create_app(passwords=Passwords(1, 1024, 1))
        log(f"seeding {args.citizens} citizens with sessions and consent, {'two clients' if args.race else 'one client'}")
        seed_data = seed(app, args.citizens, race=args.race)
        if args.hotpath:
            return run_hotpath(args, app, seed_data, t_start)
        if not args.race:
            log("reference: RS256 signing with the provider's key object")
            sign = reference_signing(app)

        server = Gunicorn(args, env, port, tmp)
        server.start()
        log(f"gunicorn on 127.0.0.1:{port}, master {server.pid}, workers {server.workers()}")
        if args.race:
            import race

            harness = SimpleNamespace(run_phase=run_phase, wait_quiet=wait_quiet, table=table, log=log, free_port=free_port,
                                      server_label=server_label)
            return race.run(args, app, seed_data, server, tmp, started, t_start, harness)

        results = {}
        warm = run_phase("warmup", "flow", args, seed_data, server, tmp, 3)
        if warm["errors"]:
            raise RuntimeError(f"warm-up flows failed: {warm['error_samples']}\n{server.errors()}")
        phases = args.phases.split(",")
        if "ping" in phases:
            results["ping"] = run_phase("ping", "ping", args, seed_data, server, tmp, min(args.seconds, 10))
        if "discovery" in phases:
            results["discovery"] = run_phase("discovery", "discovery", args, seed_data, server, tmp, min(args.seconds, 10))
        if "token" in phases or "mint" in phases:
            results["mint"] = run_phase("mint", "mint", args, seed_data, server, tmp, 2 * args.seconds, max_units=args.codes)
        if "token" in phases:
            results["token"] = run_phase("token", "token", args, seed_data, server, tmp, args.seconds)
        if "flow" in phases:
            results["flow"] = run_phase("flow", "flow", args, seed_data, server, tmp, args.seconds)

        profile = None
        if args.profile:
            from profiling import record_token_phase

            profile = record_token_phase(args, seed_data, server, tmp, run_phase)

        server.stop()
        text = report(args, results, sign, stats_dir, started)
        print(text)
        if profile:
            print()
            print(profile)
        log_errors = server.errors().strip()
        if log_errors:
            print("\ngunicorn error log (tail):\n" + log_errors[-3000:])
        print(f"\nwhole run: {time.monotonic() - t_start:.0f} s")
        if args.json:
            Path(args.json).write_text(json.dumps({"results": results, "sign": sign}, indent=1))
        return 0
    finally:
        if server is not None:
            server.stop()
        if created_db and not args.keep_db:
            try:
                drop_database(args.server)
            except Exception as exc:  # the report matters more than the clean-up message
                log(f"could not drop {DB_NAME}: {exc}")
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
