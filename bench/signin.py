"""``bench/run --signin``: a password sign-in against one bare argon2id verify, in process.

Issue 11: a successful sign-in must cost at most 1.15 times one verification with the configured
argon2id parameters (the hash is the cost; everything else the sign-in does must stay small). The
provider runs in this process with the **default** ``[security] argon2_*`` settings (or those
given), on a temporary SQLite database built by the migrations; each round times one bare
``Passwords.verify`` of a stored hash and one ``POST /login`` through the real form (CSRF token
fetched before the clock starts), alternately, and reports the medians of CPU time (all threads
of the process: argon2id's lanes run in threads) and wall time, their ratio, and sign-ins per
second per core (1000 / CPU ms of one sign-in).
"""

from __future__ import annotations

import re
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path


def _timed(fn):
    cpu, wall = time.process_time(), time.perf_counter()
    fn()
    return (time.process_time() - cpu) * 1000, (time.perf_counter() - wall) * 1000


def run(rounds: int = 15, time_cost: int | None = None, memory_kib: int | None = None, parallelism: int | None = None):
    from flask_migrate import upgrade

    from idp import create_app
    from idp.app import MIGRATIONS
    from idp.extensions import db
    from idp.security.keys import KeyRing
    from idp.settings import SecuritySettings, build_settings
    from tests.support.factories import PASSWORD, make_account

    defaults = SecuritySettings()
    t = time_cost or defaults.argon2_time_cost
    m = memory_kib or defaults.argon2_memory_kib
    p = parallelism or defaults.argon2_parallelism
    tmp = Path(tempfile.mkdtemp(prefix="idp-bench-signin-"))
    keys = tmp / "keys"
    KeyRing(keys, "bench-passphrase-0123456789", ["RS256"], 86400).ensure(datetime.now(UTC))
    settings = build_settings({
        "server": {"issuer": "http://localhost", "development": True, "secret_key": "b" * 48},
        "database": {"url": f"sqlite:///{tmp / 'signin.sqlite3'}"},
        "keys": {"dir": str(keys), "passphrase": "bench-passphrase-0123456789", "algorithms": ["RS256"]},
        "security": {"pairwise_secret": "q" * 48, "argon2_time_cost": t, "argon2_memory_kib": m,
                     "argon2_parallelism": p},
        "mail": {"outbox_dir": str(tmp / "outbox")},
    }).validate()
    app = create_app(settings)
    with app.app_context():
        upgrade(directory=str(MIGRATIONS))
        rt = app.extensions["idp"]
        account = make_account(rt)
        stored, username = account.password_hash, account.username
        db.session.commit()
        bare, signin = [], []
        for i in range(rounds + 2):
            http = app.test_client()
            page = http.get("/login").get_data(as_text=True)
            csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)

            def sign_in(http=http, csrf=csrf):
                response = http.post("/login", data={"csrf_token": csrf, "username": username, "password": PASSWORD})
                assert response.status_code == 303 and "/login" not in response.headers["Location"], response.status
                db.session.remove()

            pair = [("bare", lambda: rt.passwords.verify(stored, PASSWORD)), ("signin", sign_in)]
            if i % 2:
                pair.reverse()
            for name, fn in pair:
                (bare if name == "bare" else signin).append(_timed(fn))
        bare, signin = bare[2:], signin[2:]  # warm-up
    cpu_bare = statistics.median(c for c, _ in bare)
    cpu_signin = statistics.median(c for c, _ in signin)
    wall_bare = statistics.median(w for _, w in bare)
    wall_signin = statistics.median(w for _, w in signin)
    ratios = sorted(s[0] / b[0] for s, b in zip(signin, bare, strict=True))
    return {
        "parameters": {"time_cost": t, "memory_kib": m, "parallelism": p},
        "rounds": rounds,
        "cpu_ms": {"bare_verify": cpu_bare, "sign_in": cpu_signin},
        "wall_ms": {"bare_verify": wall_bare, "sign_in": wall_signin},
        "cpu_ratio": cpu_signin / cpu_bare,
        "cpu_ratio_pairs": (ratios[len(ratios) // 4], ratios[(3 * len(ratios)) // 4]),
        "wall_ratio": wall_signin / wall_bare,
        "sign_ins_per_second_per_core": 1000 / cpu_signin,
    }


def report(r: dict) -> str:
    p = r["parameters"]
    lines = [
        f"argon2id t={p['time_cost']} m={p['memory_kib']} KiB p={p['parallelism']}, {r['rounds']} rounds (medians)",
        f"{'':24}{'CPU ms':>10}{'wall ms':>10}",
        f"{'bare verify':24}{r['cpu_ms']['bare_verify']:>10.1f}{r['wall_ms']['bare_verify']:>10.1f}",
        f"{'sign-in (POST /login)':24}{r['cpu_ms']['sign_in']:>10.1f}{r['wall_ms']['sign_in']:>10.1f}",
        f"sign-in / bare verify: CPU {r['cpu_ratio']:.3f}x (pairs, middle half {r['cpu_ratio_pairs'][0]:.3f}-"
        f"{r['cpu_ratio_pairs'][1]:.3f}), wall {r['wall_ratio']:.3f}x  (target <= 1.15x)",
        f"sign-ins per second per core: {r['sign_ins_per_second_per_core']:.1f}",
    ]
    return "\n".join(lines)
