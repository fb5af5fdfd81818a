"""``bench/run --scale``: the provider and its scheduled jobs over a million citizens (bench/README.md, "Scale").

1. Two databases, created here and always dropped: ``idp_bench_scale_1k`` and ``idp_bench_scale``
   (``--scale-citizens``, 1,000,000). Both get the real schema (``idp db upgrade``) and the same
   spreads, written with PostgreSQL ``COPY`` (psycopg's copy API): validity ends, registrations
   awaiting activation or verification, ended (erased) records, second factors, sign-in sessions,
   consents, codes, tokens, the access history and reminders already sent.
2. One gunicorn per database, the same settings, and the whole SSO flow (authorize with an existing
   session and consent, token, userinfo) in interleaved rounds against each; p99 per endpoint, and
   the ratio 1M / 1k.
3. ``idp jobs run`` over the big database as of the seeding time, on fresh copies of it
   (``CREATE DATABASE ... TEMPLATE``): timed alone, then two runs at once; the mails go to an outbox
   and are counted, the erasures and the reminders are checked, and duplicates are looked for.
4. The query plans of the jobs' statements (``EXPLAIN (ANALYZE, BUFFERS)``), summarised.
"""

from __future__ import annotations

import email
from email.header import decode_header, make_header
import hashlib
import json
import os
import random
import re
import resource
import secrets
import signal
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent

SMALL_DB = "idp_bench_scale_1k"
BIG_DB = "idp_bench_scale"
RUN_DB = "idp_bench_scale_run"
ALL_DBS = (SMALL_DB, BIG_DB, RUN_DB)
SCOPE = "openid profile email"
DAY = timedelta(days=1)

# -- realistic values ---------------------------------------------------------------

FAMILY = ("Nagy Kovács Tóth Szabó Horváth Varga Kiss Molnár Németh Farkas Balogh Papp Takács Juhász Lakatos Mészáros "
          "Oláh Simon Rácz Fekete Szilágyi Török Fehér Balázs Gál Kis Szűcs Kocsis Orsós Pintér Fodor Szalai Sipos "
          "Magyar Lukács Gulyás Bíró Király Katona László Jakab Bogdán Balog Sándor Boros Fazekas Kelemen Antal "
          "Orosz Somogyi Fülöp Veres Budai Vincze Hegedűs Deák Pap Bálint Illés Pál Vass Szőke Fábián Vörös Lengyel "
          "Bognár Jónás Szabados Bodnár Csonka Dudás Hajdu Halász Máté Székely Kozma Pásztor Gáspár Dobos Pataki "
          "Hegyi Sárközi Virág Bakos Barta Bálint Kun Soós Major Kardos Hegyes Nyári Vida Erdős Baranyi").split()
GIVEN = ("László István József János Zoltán Sándor Gábor Ferenc Attila Péter Tamás Zsolt Tibor András Csaba Imre "
         "Lajos György Balázs Róbert Mihály Béla Dávid Károly Bence Máté Levente Ádám Dániel Márk Mária Erzsébet "
         "Katalin Ilona Éva Anna Zsuzsanna Margit Judit Ágnes Andrea Erika Krisztina Ildikó Irén Eszter Mónika Edit "
         "Gabriella Szilvia Anita Csilla Tímea Hanna Anna Zsófia Luca Jázmin Nóra Réka Viktória Boglárka Petra "
         "Dóra Lili Emma Kitti Laura Vivien Barbara Noémi Fanni Kinga Orsolya Rita Beáta Enikő Emese").split()
PLACES = ("Budapest Debrecen Szeged Miskolc Pécs Győr Nyíregyháza Kecskemét Székesfehérvár Szombathely Szolnok "
          "Tatabánya Kaposvár Érd Veszprém Békéscsaba Zalaegerszeg Sopron Eger Nagykanizsa Dunaújváros Hódmezővásárhely "
          "Salgótarján Cegléd Baja Ózd Vác Gödöllő Szekszárd Pápa Gyula Hatvan Esztergom Kiskunfélegyháza Jászberény "
          "Orosháza Kazincbarcika Szentes Kiskunhalas Ajka Mosonmagyaróvár Dunakeszi Komló Siófok Szigetszentmiklós "
          "Nagykőrös Mohács Karcag Hajdúböszörmény Balassagyarmat").split()
STREETS = ("Fő utca", "Petőfi Sándor utca", "Kossuth Lajos utca", "Rákóczi út", "Dózsa György út", "Béke utca",
           "Ady Endre utca", "Arany János utca", "Jókai Mór utca", "Széchenyi István tér", "Bartók Béla út", "Váci út")
MAIL_DOMAINS = ("posta.example.hu", "levelezo.example.hu", "mail.example.com", "example.net")
FAMILY, GIVEN = tuple(dict.fromkeys(FAMILY)), tuple(dict.fromkeys(GIVEN))  # distinct: person keys are built from them
_ASCII = str.maketrans("áéíóöőúüűÁÉÍÓÖŐÚÜŰ", "aeiooouuuAEIOOOUUU")
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # idp.accounts.service: 32 unambiguous characters


def identifier_of(n: int) -> str:
    """``UK-XXXX-XXXX-XXXX`` as ``new_identifier`` writes it, unique per n (a bijection of 32^12)."""
    x = (n * 0x9E3779B97F4A7C15 + 0x5DEECE66D) % (32 ** 12)
    body = "".join(_ALPHABET[(x >> (5 * i)) & 31] for i in range(12))
    return f"UK-{body[:4]}-{body[4:8]}-{body[8:]}"


def _digest(n: int, salt: str) -> str:
    return hashlib.sha256(f"{salt}:{n}".encode()).hexdigest()


#: The seeding works in naive UTC datetimes (``timestamp without time zone``, as ``idp.storage`` stores them):
#: ``str`` of one is the COPY text.
_ts = str
_TEXT = {None: "\\N", True: "t", False: "f"}


def _row(values) -> bytes:
    """One COPY text-format line; the values hold no tab, newline or backslash."""
    return ("\t".join(v if type(v) is str else _TEXT[v] if v is None or type(v) is bool else str(v)
                      for v in values) + "\n").encode()


ACCOUNT_COLUMNS = (
    "id", "identifier", "state", "state_changed_at", "username", "username_key", "password_hash",
    "must_change_password", "password_changed_at", "family_name", "given_name", "birth_family_name",
    "birth_given_name", "mother_birth_family_name", "mother_birth_given_name", "birth_place", "birth_country",
    "birth_date", "person_key", "document_type", "document_number", "document_issued_on", "document_expires_on",
    "email", "email_verified", "address_postal_code", "address_locality", "address_street", "address_country",
    "locale", "totp_secret_sealed", "totp_last_step", "totp_enrolled_at", "totp_pending_sealed",
    "email_code_enrolled_at", "registration_number", "verified_at", "verification_method", "statement_version",
    "statement_signed_at", "statement_method", "registering_office_id", "registration_channel", "registered_at",
    "activated_at", "valid_until", "ended_at", "is_test", "created_at", "updated_at",
)


class Spread:
    """The shares of the population (bench/README.md, "Scale"); what is due depends on the backlog."""

    awaiting = 0.003  # registered in person, the emailed code not used yet (5-day window)
    pending = 0.002  # pre-registered online, not yet verified at an office (30-day window)
    ended = 0.015  # lapsed, expired or deleted earlier: the anonymous record only
    totp = 0.15  # Ügyfélkapu+ by an authenticator app
    email_code = 0.10  # Ügyfélkapu+ by emailed code
    sessions = 0.10  # a sign-in session (most ended), a consent, a code, a token and an access-history row
    old_reminders = 0.2  # reminders of an earlier validity period (extended since)


def seed_database(url: str, citizens: int, now: datetime, shared: dict, log, *, load_sessions: int,
                  backlog: float = 1) -> dict:
    """COPY ``citizens`` accounts and their records into the (migrated, empty) database at ``url``.

    ``backlog``: days since the last run of the jobs. Validity ends are spread over [now - backlog days,
    now + 5 years), so the expiries and the reminders of ``backlog`` days are due, and earlier runs sent
    those of the days before. ``shared``: password hashes, sealed TOTP secrets and the client's and
    offices' ids. Returns the
    cookie secrets of ``load_sessions`` live sessions spread over the whole id range, and counts."""
    import psycopg

    from idp.accounts.models import person_key, username_key

    rng = random.Random(citizens)
    now = now.astimezone(UTC).replace(tzinfo=None)
    hashes, sealed, client_pk, offices = shared["hashes"], shared["sealed"], shared["client_pk"], shared["offices"]
    validity = timedelta(days=5 * 365)
    load_every = max(citizens // load_sessions, 1)
    names = len(FAMILY) * len(GIVEN)
    counts = dict.fromkeys(("account", "awaiting", "pending", "ended", "active", "expired_due", "reminder_7_due",
                            "reminder_30_due", "awaiting_lapse_due", "pending_lapse_due", "sso_session", "consent",
                            "reminder", "activation_code"), 0)
    cookies: list[str] = []
    t0 = time.monotonic()
    sessions_rows, consent_rows, code_rows, token_rows, release_rows, reminder_rows, activation_rows = ([] for _ in range(7))

    def account_rows():
        for n in range(1, citizens + 1):
            r = rng.random()
            # (family, given, birth date) is a bijection of n below 192 million: the person keys are unique.
            m = n % names
            fam, giv = FAMILY[m % len(FAMILY)], GIVEN[m // len(FAMILY)]
            mfam, mgiv = FAMILY[(n * 7 + 3) % len(FAMILY)], GIVEN[(n * 13 + 5) % len(GIVEN)]
            place = PLACES[(n // 7) % len(PLACES)]
            birth = (datetime(1940, 1, 1) + timedelta(days=(n // names + m * 37) % 24000)).date()
            username = f"{fam.translate(_ASCII).lower()}.{giv.translate(_ASCII).lower()}{n}"
            registered = now - timedelta(days=rng.uniform(40, 5 * 365))
            state, changed, activated, valid_until, ended_at = "active", registered + DAY, registered + DAY, None, None
            must_change, verified = False, registered
            if r < Spread.awaiting:
                # A tenth of registrations lapse unactivated: those of the backlog's days are past the window.
                lapsing = rng.random() < 0.1 * backlog / 5
                state = "awaiting_activation"
                registered = now - timedelta(days=rng.uniform(5, 5 + backlog) if lapsing else rng.uniform(0, 5))
                changed, activated, must_change = registered, None, True
                counts["awaiting"] += 1
                counts["awaiting_lapse_due"] += changed <= now - 5 * DAY
                activation_rows.append((n, _digest(n, "act"), _ts(changed), _ts(changed + 5 * DAY), 0, None, None))
            elif r < Spread.awaiting + Spread.pending:
                lapsing = rng.random() < 0.3 * backlog / 30  # three in ten never come to an office
                state = "pending_verification"
                registered = now - timedelta(days=rng.uniform(30, 30 + backlog) if lapsing else rng.uniform(0, 30))
                changed, activated, verified, must_change = registered, None, None, True
                counts["pending"] += 1
                counts["pending_lapse_due"] += registered <= now - 30 * DAY
            elif r < Spread.awaiting + Spread.pending + Spread.ended:
                state = rng.choice(("expired", "expired", "lapsed", "deleted"))
                ended_at = changed = now - timedelta(days=rng.uniform(8, 900))
                counts["ended"] += 1
            else:
                valid_until = now + timedelta(days=rng.uniform(-backlog, 5 * 365))
                counts["active"] += 1
                left = valid_until - now
                if left <= timedelta(0):
                    counts["expired_due"] += 1
                elif left <= 7 * DAY:
                    counts["reminder_7_due"] += left > (7 - backlog) * DAY
                elif left <= 30 * DAY:
                    counts["reminder_30_due"] += left > (30 - backlog) * DAY
                # What earlier runs sent: the 30-day reminder of those within 30 - backlog days of their end, and
                # the 7-day one of those within 7 - backlog days (or past it).
                if left <= (30 - backlog) * DAY:
                    reminder_rows.append((n, "validity", _ts(valid_until), 30, _ts(valid_until - 30 * DAY)))
                if left <= (7 - backlog) * DAY:
                    reminder_rows.append((n, "validity", _ts(valid_until), 7, _ts(valid_until - 7 * DAY)))
                if rng.random() < Spread.old_reminders:  # an earlier period, extended since
                    old_end = valid_until - validity
                    reminder_rows.append((n, "validity", _ts(old_end), 30, _ts(old_end - 30 * DAY)))
                    reminder_rows.append((n, "validity", _ts(old_end), 7, _ts(old_end - 7 * DAY)))
            live = state in ("active", "awaiting_activation", "pending_verification")
            pwd_changed = registered + timedelta(days=rng.uniform(1, 700)) if state == "active" else None
            if pwd_changed and pwd_changed > now:
                pwd_changed = now - DAY
            totp = sealed[n % len(sealed)] if live and state == "active" and r > 1 - Spread.totp else None
            email_code = (registered + 2 * DAY if live and state == "active" and totp is None
                          and rng.random() < Spread.email_code / (1 - Spread.totp) else None)
            channel = "online" if state == "pending_verification" else rng.choice(("in_person",) * 8 + ("online", "e_signature"))
            values = (
                n, identifier_of(n), state, _ts(changed),
                username if live else None, username_key(username) if live else None,
                hashes[n % len(hashes)] if live else None, must_change, _ts(pwd_changed) if pwd_changed else None,
                *((fam, giv, fam, giv, mfam, mgiv, place, "HU", birth.isoformat(),
                   person_key(fam, giv, mfam, mgiv, place, birth),
                   "identity_card", f"{(n * 48271) % 1000000:06d}{_ALPHABET[n % 24]}{_ALPHABET[(n // 24) % 24]}",
                   (issued := datetime(2018, 1, 1) + timedelta(days=n % 2900)).date().isoformat(),
                   (issued + timedelta(days=3652)).date().isoformat(),
                   f"{username}@{MAIL_DOMAINS[n % len(MAIL_DOMAINS)]}", state == "active",
                   f"{1000 + n % 8999}", place, f"{STREETS[n % len(STREETS)]} {1 + n % 120}.", "HU")
                  if live else (None,) * 15 + (False,) + (None,) * 4),
                "hu" if n % 10 else "en",
                totp, 0, _ts(registered + 3 * DAY) if totp else None, None,
                _ts(email_code) if email_code else None,
                f"E{n:09d}" if channel == "online" and live else None,
                _ts(verified) if verified and live else None, "in_person" if verified and live else None,
                "2026-1" if verified and live else None, _ts(verified) if verified and live else None,
                "in_person" if verified and live else None,
                offices[n % len(offices)] if channel == "in_person" else None, channel, _ts(registered),
                _ts(activated) if activated and state != "pending_verification" else None,
                _ts(valid_until) if valid_until else None, _ts(ended_at) if ended_at else None, False,
                _ts(registered), _ts(changed),
            )
            counts["account"] += 1
            assert len(values) == len(ACCOUNT_COLUMNS)
            if state == "active" and (rng.random() < Spread.sessions or n % load_every == 0):
                is_load = (n % load_every == 0 and len(cookies) < load_sessions and valid_until > now + 31 * DAY
                           and totp is None and email_code is None)  # signed in with a password, nothing owed
                secret = secrets.token_urlsafe(32) if is_load else None
                started = now - timedelta(minutes=5) if is_load else now - timedelta(days=rng.uniform(1, 300))
                sid = _digest(n, "sid")[:32]
                sessions_rows.append((sid, hashlib.sha256(secret.encode()).hexdigest() if secret else _digest(n, "cookie"),
                                      n, _ts(started), _ts(started), _ts(started), "http://eidas.europa.eu/LoA/low",
                                      '["pwd"]', "192.0.2.1", "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0",
                                      None if is_load else _ts(started + timedelta(hours=1)),
                                      None if is_load else "signed_out"))
                consent_rows.append((n, client_pk, SCOPE, _ts(started), _ts(started)))
                code_rows.append((_digest(n, "code"), client_pk, n, sid, "https://agency.example.hu/callback", SCOPE,
                                  _digest(n, "nonce")[:22], _digest(n, "pkce")[:43], "S256", _ts(started),
                                  "http://eidas.europa.eu/LoA/low", '["pwd"]', _ts(started), _ts(started + timedelta(minutes=1)),
                                  _ts(started + timedelta(seconds=2)), _digest(n, "family")[:32]))
                token_rows.append((_digest(n, "family")[:32], client_pk, n, sid, SCOPE, _digest(n, "access"),
                                   _digest(n, "refresh"), _ts(started), _ts(started + timedelta(minutes=10)),
                                   _ts(started + timedelta(hours=8)), None, None, _ts(started),
                                   "http://eidas.europa.eu/LoA/low", '["pwd"]'))
                release_rows.append((n, client_pk, "id_token", "birthdate email family_name given_name sub",
                                     started.date().isoformat(), _ts(started), _ts(started), 1))
                if secret:
                    cookies.append(secret)
            if n % 100_000 == 0:
                log(f"  {n:,} accounts generated ({time.monotonic() - t0:.0f} s)")
            yield _row(values)

    def copy(conn, table: str, columns, rows) -> int:
        n = 0
        with conn.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as cp:
            chunk = []
            for line in rows:
                chunk.append(line)
                n += 1
                if len(chunk) >= 2000:
                    cp.write(b"".join(chunk))
                    chunk.clear()
            if chunk:
                cp.write(b"".join(chunk))
        return n

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        conn.execute("SET synchronous_commit = off")
        copy(conn, "account", ACCOUNT_COLUMNS, account_rows())
        conn.execute("SELECT setval(pg_get_serial_sequence('account', 'id'), %s)", (citizens,))
        log(f"  accounts copied ({time.monotonic() - t0:.0f} s); now sessions, consents, codes, tokens, reminders")
        counts["sso_session"] = copy(conn, "sso_session", ("sid", "secret_digest", "account_id", "created_at", "last_seen_at",
                                                           "auth_time", "acr", "amr", "ip_address", "user_agent", "ended_at",
                                                           "end_reason"), map(_row, sessions_rows))
        counts["consent"] = copy(conn, "consent", ("account_id", "client_pk", "scopes", "granted_at", "updated_at"),
                                 map(_row, consent_rows))
        copy(conn, "authorization_code", ("code_digest", "client_pk", "account_id", "sid", "redirect_uri", "scope", "nonce",
                                          "code_challenge", "code_challenge_method", "auth_time", "acr", "amr", "created_at",
                                          "expires_at", "consumed_at", "family_id"), map(_row, code_rows))
        copy(conn, "token", ("family_id", "client_pk", "account_id", "sid", "scope", "access_digest", "refresh_digest",
                             "issued_at", "access_expires_at", "refresh_expires_at", "rotated_at", "revoked_at", "auth_time",
                             "acr", "amr"), map(_row, token_rows))
        copy(conn, "claim_release", ("account_id", "client_pk", "channel", "claims", "day", "first_at", "last_at", "count"),
             map(_row, release_rows))
        counts["reminder"] = copy(conn, "reminder", ("account_id", "kind", "ends_at", "days_before", "sent_at"),
                                  map(_row, reminder_rows))
        counts["activation_code"] = copy(conn, "activation_code", ("account_id", "code_digest", "created_at", "expires_at",
                                                                   "attempts", "used_at", "revoked_at"),
                                         map(_row, activation_rows))
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM (ANALYZE)")
        size = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()[0]
    log(f"  seeded {citizens:,} citizens in {time.monotonic() - t0:.0f} s; database {size}")
    return {"cookies": cookies, "counts": counts, "size": size, "seconds": time.monotonic() - t0}


# -- orchestration --------------------------------------------------------------------


def _admin(server: str):
    import psycopg

    return psycopg.connect(server.replace("postgresql+psycopg://", "postgresql://") + "/postgres", autocommit=True)


def create_databases(server: str) -> None:
    with _admin(server) as conn:
        for name in ALL_DBS:
            users = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (name,)).fetchone()[0]
            if users:
                raise SystemExit(f"bench/run --scale: {name} has {users} connection(s): another run is in progress")
        for name in ALL_DBS:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {SMALL_DB}")
        conn.execute(f"CREATE DATABASE {BIG_DB}")


def drop_databases(server: str) -> None:
    with _admin(server) as conn:
        for name in ALL_DBS:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def prepare(app, url: str, citizens: int, now: datetime, log, load_sessions: int, backlog: float) -> dict:
    """Schema, offices, the client, the shared values, then the COPY."""
    from flask_migrate import upgrade

    from idp.app import MIGRATIONS, check_keys
    from idp.extensions import db
    from idp.offices.models import Office
    from tests.support.factories import make_client

    rt = app.extensions["idp"]
    with app.app_context():
        upgrade(directory=str(MIGRATIONS))
        check_keys(app)
        offices = [Office(code=f"HIV{i:03d}", name=f"Kormányablak {PLACES[i]}", address=f"{PLACES[i]}, Fő utca 1.",
                          created_at=rt.now()) for i in range(20)]
        db.session.add_all(offices)
        db.session.commit()
        client, secret = make_client(rt, name="Bench agency", redirect_uri="https://agency.example.hu/callback")
        shared = {
            "hashes": [rt.passwords.hash(f"jelszo-{i}-{secrets.token_hex(4)}") for i in range(4)],
            "sealed": [rt.citizen_sealer.seal(secrets.token_hex(20)) for i in range(8)],
            "client_pk": client.id,
            "offices": [o.id for o in offices],
        }
        client_id = client.client_id
        db.session.remove()
        db.engine.dispose()
    seeded = seed_database(url, citizens, now, shared, log, load_sessions=load_sessions, backlog=backlog)
    return {"client_id": client_id, "client_secret": secret, "redirect_uri": "https://agency.example.hu/callback",
            "cookie_name": rt.settings.session_cookie_name, "sessions": seeded["cookies"],
            "counts": seeded["counts"], "size": seeded["size"], "seed_seconds": seeded["seconds"]}


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def latency_rounds(args, harness, servers: dict, seeds: dict, tmp: Path, log) -> dict:
    """Interleaved rounds of the SSO flow against each server; per round the p99 of each endpoint."""
    out = {name: [] for name in servers}
    for r in range(args.scale_rounds + 1):  # round 0 warms up both and is not reported
        order = list(servers) if r % 2 else list(reversed(servers))
        for name in order:
            res = harness.run_phase(f"{name}-r{r}", "flow", args, seeds[name], servers[name], tmp,
                                    args.scale_seconds if r else 3, wait=bool(r), database=servers[name].database)
            busy = res["cpu"]
            other = (busy["machine_busy"] - busy["server"] - busy["postgres"] - busy["loadgen"]) / max(
                busy["machine_total"], 1e-9)
            if res["errors"]:
                raise RuntimeError(f"{name}: flows failed: {res['error_samples']}")
            if r:
                flows = max(res["latency"]["flow"]["count"], 1)
                out[name].append({k: res["latency"][k] for k in ("authorize", "token", "userinfo", "flow")}
                                 | {"other": max(other, 0.0), "load": loadavg(),
                                    "cpu_ms": (busy["server"] + busy["postgres"]) / flows * 1e3,
                                    "pg_ms": busy["postgres"] / flows * 1e3})
                lat = res["latency"]
                log(f"  round {r} {name}: p99 authorize {lat['authorize']['p99']:.1f} token {lat['token']['p99']:.1f} "
                    f"userinfo {lat['userinfo']['p99']:.1f} ms; other load {max(other, 0):.0%}; loadavg {loadavg()}")
    return out


def run_jobs_timed(env: dict, as_of: str, outbox: Path, batch: int, tag: str, log, parallel: int = 1) -> dict:
    """``idp jobs run`` on RUN_DB (one process, or ``parallel`` at once); wall time, reports, exit codes."""
    cmd = [str(Path(sys.executable).with_name("idp")), "jobs", "run", "--as-of", as_of, "--json", "--batch-size", str(batch)]
    env = dict(env, IDP_MAIL_OUTBOX_DIR=str(outbox))
    t0 = time.monotonic()
    import loadgen

    pg_background = set(loadgen.postgres_pids("-none-"))  # the cluster's own processes and other databases' backends
    pg_start = {pid: loadgen._proc_cpu(pid) or 0.0 for pid in loadgen.postgres_pids(RUN_DB)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    # Output to files: the JSON report lists every item, more than a pipe holds while the run is being watched.
    outputs = [(outbox.parent / f"{outbox.name}-{tag.replace(' ', '-')}-{i}.out",
                outbox.parent / f"{outbox.name}-{tag.replace(' ', '-')}-{i}.err") for i in range(parallel)]
    procs = [subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=out.open("w"), stderr=err.open("w"), text=True)
             for out, err in outputs]
    # PostgreSQL's CPU for the run: its backends of RUN_DB, sampled until they exit (the last 0.2 s may be missed).
    pg_cpu: dict[int, float] = {}
    while any(p.poll() is None for p in procs):
        for pid in loadgen.postgres_pids(RUN_DB):
            if pid in pg_background:
                continue
            value = loadgen._proc_cpu(pid)
            if value is not None:
                pg_cpu[pid] = max(value - pg_start.get(pid, 0.0), pg_cpu.get(pid, 0.0))
        time.sleep(0.2)
    results = []
    for p, (out, err) in zip(procs, outputs, strict=True):
        p.wait(timeout=900)
        stdout, stderr = out.read_text(), err.read_text()
        results.append({"rc": p.returncode, "report": json.loads(stdout) if stdout.strip().startswith("{") else None,
                        "stderr": stderr[-2000:]})
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    log(f"  jobs {tag}: {wall:.1f} s, CPU {cpu:.1f} s + PostgreSQL {sum(pg_cpu.values()):.1f} s, exit {[r['rc'] for r in results]}, loadavg {loadavg()}")
    return {"wall": wall, "cpu": cpu, "pg_cpu": sum(pg_cpu.values()), "runs": results}


def check_outbox(outbox: Path) -> dict:
    """Count the mails by kind and recipient; a reminder twice to one address is a duplicate."""
    per: dict[tuple[str, str], int] = {}
    total = 0
    for path in outbox.glob("*.eml"):
        msg = email.message_from_bytes(path.read_bytes())
        total += 1
        key = (msg["Subject"] or "", msg["To"] or "")
        per[key] = per.get(key, 0) + 1
    by_subject: dict[str, int] = {}
    for (subject, _to), n in per.items():
        subject = str(make_header(decode_header(subject))).replace("\r\n", "")
        by_subject[subject] = by_subject.get(subject, 0) + n
    return {"total": total, "by_subject": by_subject, "duplicates": sum(n - 1 for n in per.values() if n > 1)}


def check_database(url: str, now: datetime) -> dict:
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        q = lambda sql, *a: conn.execute(sql, a).fetchone()[0]  # noqa: E731
        naive = now.astimezone(UTC).replace(tzinfo=None)
        return {
            "still_due_expiry": q("SELECT count(*) FROM account WHERE state = 'active' AND valid_until <= %s", naive),
            "ended_with_personal_data": q(
                "SELECT count(*) FROM account WHERE state IN ('expired', 'lapsed') AND ended_at = %s AND "
                "(username IS NOT NULL OR email IS NOT NULL OR person_key IS NOT NULL OR family_name IS NOT NULL)", naive),
            "ended_now": q("SELECT count(*) FROM account WHERE ended_at = %s", naive),
            "live_sessions_of_ended": q(
                "SELECT count(*) FROM sso_session s JOIN account a ON a.id = s.account_id "
                "WHERE a.ended_at = %s AND s.ended_at IS NULL", naive),
            "consents_of_ended": q(
                "SELECT count(*) FROM consent c JOIN account a ON a.id = c.account_id WHERE a.ended_at = %s", naive),
            "reminders_sent_now": q("SELECT count(*) FROM reminder WHERE sent_at = %s", naive),
            "audit_events": q("SELECT count(*) FROM audit_event WHERE at = %s", naive),
        }


#: The jobs' statements as ``idp.lifecycle.jobs`` issues them for one batch (``ids``: 200 accounts with
#: sessions, consents, codes and tokens; ``sids``: their sessions). EXPLAIN ANALYZE runs each; the
#: writes are rolled back.
EXPLAINED = {
    "validity reminders, a page after the first (keyset along the index)":
        "SELECT id, identifier, valid_until, password_changed_at, email, locale, family_name, given_name FROM account "
        "WHERE state = 'active' AND valid_until IS NOT NULL AND valid_until > %(now)s AND valid_until <= %(horizon)s "
        "AND valid_until >= %(mid)s AND (valid_until > %(mid)s OR id > 0) ORDER BY valid_until, id LIMIT 200",
    "reminders already sent, for a batch":
        "SELECT account_id, ends_at, days_before FROM reminder WHERE account_id = ANY(%(ids)s) AND kind = 'validity'",
    "expiry, a batch (FOR UPDATE SKIP LOCKED)":
        "SELECT * FROM account WHERE state = 'active' AND valid_until IS NOT NULL AND valid_until <= %(now)s "
        "ORDER BY valid_until, id LIMIT 200 FOR UPDATE OF account SKIP LOCKED",
    "expiry, the claim of a batch":
        "UPDATE account SET updated_at = %(now)s WHERE id = ANY(%(due)s) AND state = 'active' AND valid_until IS NOT NULL "
        "AND valid_until <= %(now)s RETURNING id",
    "lapse awaiting_activation, a batch":
        "SELECT * FROM account WHERE state = 'awaiting_activation' AND state_changed_at <= %(window)s AND NOT "
        "(EXISTS (SELECT * FROM activation_code WHERE activation_code.account_id = account.id AND "
        "activation_code.expires_at > %(now)s)) ORDER BY state_changed_at, id LIMIT 200 FOR UPDATE OF account SKIP LOCKED",
    "lapse pending_verification, a batch":
        "SELECT * FROM account WHERE state = 'pending_verification' AND registered_at <= %(pending)s "
        "ORDER BY registered_at, id LIMIT 200 FOR UPDATE OF account SKIP LOCKED",
    "end_access_many: the sessions":
        "UPDATE sso_session SET ended_at = %(now)s, end_reason = 'account_expired' WHERE account_id = ANY(%(ids)s) "
        "AND ended_at IS NULL RETURNING sid",
    "end_access_many: logout notices to queue":
        "SELECT DISTINCT token.client_pk, token.account_id, token.sid FROM token JOIN client ON client.id = token.client_pk "
        "WHERE token.sid = ANY(%(sids)s) AND client.backchannel_logout_uri IS NOT NULL AND client.backchannel_logout_uri != ''",
    "end_access_many: the tokens":
        "UPDATE token SET revoked_at = %(now)s WHERE account_id = ANY(%(ids)s) AND revoked_at IS NULL",
    "end_access_many: unexchanged codes (ix_authorization_code_account_id)":
        "UPDATE authorization_code SET consumed_at = %(now)s WHERE account_id = ANY(%(ids)s) AND consumed_at IS NULL",
    "end_access_many: the consents":
        "DELETE FROM consent WHERE account_id = ANY(%(ids)s)",
}


def explain(url: str, now: datetime) -> dict[str, str]:
    import psycopg

    naive = now.astimezone(UTC).replace(tzinfo=None)
    params = {"now": naive, "horizon": naive + 30 * DAY, "mid": naive + 10 * DAY, "window": naive - 5 * DAY,
              "pending": naive - 30 * DAY}
    out = {}
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        sample = conn.execute("SELECT account_id, sid FROM sso_session ORDER BY md5(sid) LIMIT 200").fetchall()
        params["ids"], params["sids"] = [r[0] for r in sample], [r[1] for r in sample]
        params["due"] = [r[0] for r in conn.execute(
            "SELECT id FROM account WHERE state = 'active' AND valid_until <= %s ORDER BY valid_until LIMIT 200",
            (naive,)).fetchall()]
        conn.rollback()
        for name, sql in EXPLAINED.items():
            rows = conn.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql, params).fetchall()
            out[name] = "\n".join(re.sub(r"'\{[^}]{80,}\}'", "'{...200 values}'", r[0]) for r in rows)
            conn.rollback()
    return out


def run(args, harness, log) -> int:
    """The whole ``--scale`` phase; always stops its servers and drops its databases."""
    import tempfile

    import bench

    # Stopped with SIGTERM (or SIGINT, which a shell's background job ignores): still stop the servers and
    # drop the databases in the ``finally`` below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = datetime.now(UTC)
    args.concurrency = args.scale_concurrency
    t_start = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="idp-bench-scale-"))
    port_small, port_big = bench.free_port(), bench.free_port()
    env = bench.provider_env(args.server, tmp, port_small)
    env.pop("IDP_CONFIG", None)
    env["BENCH_STATS_DIR"] = str(tmp)
    env["BENCH_EXPERIMENTS"] = ""
    url = {name: f"{args.server}/{name}" for name in ALL_DBS}
    servers: dict = {}
    result: dict = {"started": started.isoformat(), "cores": os.cpu_count(), "load_at_start": loadavg()}
    try:
        log(f"databases {SMALL_DB} and {BIG_DB} on {args.server}; loadavg {loadavg()}")
        create_databases(args.server)
        from idp import create_app
        from idp.security.passwords import Passwords

        now = datetime.now(UTC).replace(microsecond=0)
        seeds = {}
        for name, db_name, citizens in (("1k", SMALL_DB, args.scale_small), ("1M", BIG_DB, args.scale_citizens)):
            os.environ.update({k: v for k, v in env.items() if k.startswith("IDP_")})
            os.environ["IDP_DATABASE_URL"] = url[db_name]
            app = create_app(passwords=Passwords())  # the default argon2id parameters: hashes as production writes them
            log(f"seeding {citizens:,} citizens into {db_name} (COPY)")
            seeds[name] = prepare(app, url[db_name], citizens, now, log, load_sessions=min(args.scale_sessions, citizens),
                                  backlog=args.scale_backlog_days)
            log(f"  {name}: {len(seeds[name]['sessions'])} live sessions for the load; counts {seeds[name]['counts']}")
        result["seed"] = {k: {x: v[x] for x in ("counts", "size", "seed_seconds")} for k, v in seeds.items()}

        if not args.scale_skip_latency:
            for name, db_name, port in (("1k", SMALL_DB, port_small), ("1M", BIG_DB, port_big)):
                server_env = dict(env, IDP_DATABASE_URL=url[db_name], IDP_SERVER_ISSUER=f"http://127.0.0.1:{port}")
                (tmp / name).mkdir()
                servers[name] = bench.Gunicorn(args, server_env, port, tmp / name)
                servers[name].database = db_name
                servers[name].start()
                log(f"gunicorn for {name} on 127.0.0.1:{port}")
            result["latency"] = latency_rounds(args, harness, servers, seeds, tmp, log)
            for s in servers.values():
                s.stop()
            servers.clear()

        if not args.scale_skip_jobs:
            as_of = now.isoformat()
            jobs_env = dict(env, IDP_DATABASE_URL=url[RUN_DB])
            result["jobs"] = []
            with _admin(args.server) as conn:
                for i in range(args.scale_job_runs + 1):
                    parallel = 2 if i == args.scale_job_runs else 1
                    conn.execute(f"DROP DATABASE IF EXISTS {RUN_DB} WITH (FORCE)")
                    t0 = time.monotonic()
                    conn.execute(f"CREATE DATABASE {RUN_DB} TEMPLATE {BIG_DB}")
                    log(f"copy of {BIG_DB} for jobs run {i + 1} in {time.monotonic() - t0:.0f} s"
                        + (" (two runs at once)" if parallel == 2 else ""))
                    outbox = tmp / f"outbox-{i}"
                    timed = run_jobs_timed(jobs_env, as_of, outbox, args.scale_batch, f"run {i + 1}", log, parallel)
                    timed["parallel"] = parallel
                    timed["outbox"] = check_outbox(outbox)
                    timed["database"] = check_database(url[RUN_DB], now)
                    timed["load"] = loadavg()
                    log(f"  outbox {timed['outbox']}; database {timed['database']}")
                    result["jobs"].append(timed)
                    if i == 0:
                        again = run_jobs_timed(jobs_env, as_of, outbox, args.scale_batch, "run 1 again", log)
                        again.update(parallel=1, again=True, outbox=check_outbox(outbox), load=loadavg(),
                                     database=check_database(url[RUN_DB], now))
                        result["jobs"].append(again)
                        result["explain"] = explain(url[BIG_DB], now)
        result["seconds"] = time.monotonic() - t_start
        text = report(result, args)
        print(text)
        if args.json:
            Path(args.json).write_text(json.dumps(result, indent=1, default=str))
        return 0
    finally:
        for s in servers.values():
            s.stop()
        if not args.keep_db:
            try:
                drop_databases(args.server)
            except Exception as exc:  # the report matters more than the clean-up message
                log(f"could not drop the scale databases: {exc}")
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)


def report(result: dict, args) -> str:
    from bench import table

    out = [f"idp scale bench, {result['started'][:16]} UTC; {result['cores']} cores; load average at start "
           f"{result['load_at_start']}"]
    for name, s in result["seed"].items():
        c = s["counts"]
        out.append(f"  {name}: {c['account']:,} accounts ({c['active']:,} active, {c['awaiting']:,} awaiting activation, "
                   f"{c['pending']:,} pending verification, {c['ended']:,} ended), {c['sso_session']:,} sessions, "
                   f"{c['consent']:,} consents, {c['reminder']:,} reminders sent earlier; {s['size']}, "
                   f"seeded in {s['seed_seconds']:.0f} s")
    if "latency" in result:
        out.append("")
        out.append(f"SSO flow, concurrency {args.scale_concurrency}, {args.scale_rounds} interleaved rounds of "
                   f"{args.scale_seconds:g} s per size: p99 ms per round, the median, and 1M / 1k")
        rows = []
        lat = result["latency"]
        for ep in ("authorize", "token", "userinfo", "flow"):
            med = {}
            for name in ("1k", "1M"):
                values = [r[ep]["p99"] for r in lat[name]]
                med[name] = statistics.median(values)
                rows.append([f"{ep} {name}", " ".join(f"{v:.1f}" for v in values), f"{med[name]:.1f}",
                             f"{statistics.median(r[ep]['p50'] for r in lat[name]):.1f}",
                             f"{sum(r[ep]['count'] for r in lat[name]):,}", "" if name == "1k" else
                             f"{med['1M'] / med['1k']:.2f}"])
        out.append(table(["endpoint", "p99 per round", "p99 median", "p50 median", "requests", "1M/1k p99"], rows))
        cpu = {name: statistics.median(r["cpu_ms"] for r in lat[name]) for name in ("1k", "1M")}
        pg = {name: statistics.median(r["pg_ms"] for r in lat[name]) for name in ("1k", "1M")}
        out.append(f"CPU per flow (gunicorn + PostgreSQL), median of the rounds: 1k {cpu['1k']:.1f} ms "
                   f"(PostgreSQL {pg['1k']:.1f}), 1M {cpu['1M']:.1f} ms (PostgreSQL {pg['1M']:.1f}): "
                   f"1M/1k {cpu['1M'] / cpu['1k']:.2f}")
        out.append("other load per round (1k / 1M): " + ", ".join(
            f"{a['other']:.0%}/{b['other']:.0%}" for a, b in zip(lat["1k"], lat["1M"], strict=True)))
        out.append("load average per round (1k / 1M): " + ", ".join(
            f"{a['load']} / {b['load']}" for a, b in zip(lat["1k"], lat["1M"], strict=True)))
    if "jobs" in result:
        out.append("")
        out.append(f"idp jobs run over {result['seed']['1M']['counts']['account']:,} accounts, --batch-size "
                   f"{args.scale_batch}, as of the seeding time, each on a fresh copy of the database:")
        rows = []
        for i, j in enumerate(result["jobs"]):
            reports = [r["report"] or {} for r in j["runs"]]
            summed = {k: sum(r.get(k, 0) for r in reports) for k in ("reminders", "lapsed", "expired", "skipped", "failed")}
            label = ("the same again (nothing due)" if j.get("again") else f"copy {i + 1 - (i > 1)}"
                     + (" (two at once)" if j["parallel"] > 1 else ""))
            rows.append([label, f"{j['wall']:.1f}", f"{j['cpu']:.1f}", f"{j.get('pg_cpu', 0):.1f}",
                         f"{summed['reminders']:,}", f"{summed['lapsed']:,}", f"{summed['expired']:,}",
                         f"{summed['skipped']:,}", f"{summed['failed']:,}", f"{j['outbox']['total']:,}",
                         f"{j['outbox']['duplicates']}", "/".join(str(r["rc"]) for r in j["runs"]),
                         f"{j['database']['still_due_expiry']}", f"{j['database']['ended_with_personal_data']}",
                         f"{j['database']['live_sessions_of_ended']}/{j['database']['consents_of_ended']}", j["load"]])
        out.append(table(["run", "wall s", "CPU s", "PostgreSQL CPU s", "reminders", "lapsed", "expired", "skipped", "failed", "mails",
                          "duplicate mails", "exit", "still due", "erased wrongly", "sessions/consents left",
                          "loadavg"], rows))
        for j in result["jobs"]:
            for r in j["runs"]:
                if r["rc"] != 0:
                    out.append(f"  a run failed: {r['stderr']}")
    if "explain" in result:
        out.append("")
        out.append("Query plans on the 1M database (EXPLAIN ANALYZE, before the jobs ran):")
        for name, plan in result["explain"].items():
            out.append(f"-- {name}")
            out.append(plan)
    out.append(f"\nwhole run: {result['seconds']:.0f} s")
    return "\n".join(out)
