"""``bench/run --race``: the provider and a certified peer, node oidc-provider 9, side by side.

The peer is installed from the npm registry into a cache folder outside the
repository (``~/.cache/idp-bench``, or ``$BENCH_CACHE``), with Node 22 from the
same registry when the machine's node is older than oidc-provider 9 supports. It
is configured by ``bench/peer.mjs`` to do what ours does (see that file) and
serves on 127.0.0.1 in one node process, its state in memory.

Before measuring, both sides are checked to do the same real work: a sample ID
token of each algorithm from each side is verified against that side's JWKS
(signature, ``alg``, ``kid``, issuer, audience, nonce, lifetime, the pairwise
``sub``, which is the same on both sides), PKCE is enforced, and a code works
once: its second use fails and revokes the token of the first.

Then the rows are measured in rounds, the two sides interleaved: in each round,
each row runs on one side and straight after on the other, the side going first
alternating from round to round, so that other load on the machine falls on both
alike. Each side's cost is the server's CPU per operation from /proc: gunicorn's
master and workers plus PostgreSQL (its background processes and the backends of
``idp_bench``) for ours, the node process for the peer.

With ``--floor`` a third side joins the exchange rows: ``bench/floor.py``, the
exchange on bare Flask, psycopg and joserfc in the same workers, on codes ours'
authorize issued, measured like ours against the peer's exchange (checked first
by ``check_floor``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import os
import secrets
import shutil
import signal
import subprocess
import time
from pathlib import Path
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import floor
import loadgen

BENCH = Path(__file__).resolve().parent
CACHE = Path(os.environ.get("BENCH_CACHE") or Path.home() / ".cache" / "idp-bench")
PEER_PACKAGE = "oidc-provider@9"  # the latest 9.x
NODE_PACKAGE = "node@22"  # the npm package that ships the Node binary
NODE_MAJOR = 22  # oidc-provider 9 warns "Unsupported runtime. Use Node.js v22.x LTS" on older ones
REFRESH_SECONDS = 86400  # look for a newer 9.x at most once a day

#: (row label, phase, ID-token algorithm of the client used)
ROWS = [
    ("authorize alone (session and consent exist)", "mint", "RS256"),
    ("code exchange, RS256 ID token", "token", "RS256"),
    ("authorize alone, ES256 client", "mint", "ES256"),
    ("code exchange, ES256 ID token", "token", "ES256"),
    ("SSO flow: authorize, token, userinfo", "flow", "RS256"),
    ("userinfo alone", "userinfo", "RS256"),
    ("introspection alone", "introspect", "RS256"),
]
#: ``--floor``: the floor's exchange (bench/floor.py, on codes ours' authorize issued) against the peer's RS256 exchange
FLOOR_ROW = "code exchange, RS256: the floor (bench/floor.py)"
FLOOR_PEER_ROW = next(label for label, phase, alg in ROWS if (phase, alg) == ("token", "RS256"))
FLOOR_PHASES = {("mint", "RS256"): "the floor's codes (ours' authorize)", ("token", "RS256"): FLOOR_ROW}
UNIT = {"mint": "authorize", "token": "token", "flow": "flow", "userinfo": "userinfo", "introspect": "introspect"}


# -- installing the peer -------------------------------------------------------------


def _node_major(node: str) -> int | None:
    try:
        out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=20, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return int(out.strip().lstrip("v").split(".")[0])


def _npm(prefix: Path, package: str, log, logfile: Path) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("bench/run --race: npm is needed to install the peer")
    prefix.mkdir(parents=True, exist_ok=True)
    log(f"npm install {package} into {prefix}")
    with logfile.open("a") as out:
        done = subprocess.run([npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", "--omit=dev", package],
                              stdout=out, stderr=subprocess.STDOUT, timeout=300)
    if done.returncode:
        raise RuntimeError(f"npm install {package} failed:\n{logfile.read_text()[-2000:]}")


def install(tmp: Path, log) -> dict:
    """Node (22 or later) and oidc-provider 9 from the npm registry, cached in CACHE; returns paths and versions."""
    logfile = tmp / "npm.log"
    node = shutil.which("node")
    if node is None or (_node_major(node) or 0) < NODE_MAJOR:
        prefix = CACHE / "node22"
        node = str(prefix / "node_modules" / ".bin" / "node")
        if (_node_major(node) or 0) < NODE_MAJOR:
            shutil.rmtree(prefix, ignore_errors=True)
            _npm(prefix, NODE_PACKAGE, log, logfile)
            if (_node_major(node) or 0) < NODE_MAJOR:
                raise RuntimeError(f"{NODE_PACKAGE} did not give a working node at {node}")
    peer = CACHE / "oidc-provider-9"
    stamp = peer / ".installed"
    package_json = peer / "node_modules" / "oidc-provider" / "package.json"
    fresh = stamp.exists() and package_json.exists() and time.time() - stamp.stat().st_mtime < REFRESH_SECONDS
    if not fresh:
        try:
            if not stamp.exists():
                shutil.rmtree(peer, ignore_errors=True)  # a half-finished install: start over
            _npm(peer, PEER_PACKAGE, log, logfile)
            stamp.touch()
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            if not package_json.exists():
                raise
            log(f"could not refresh the peer ({exc}); using the cached copy")
    version = json.loads(package_json.read_text())["version"]
    return {"node": node, "modules": str(peer), "oidc_provider": version}


# -- the peer process ------------------------------------------------------------------


class Peer:
    """node bench/peer.mjs on a free loopback port; its one process is the server whose CPU counts."""

    def __init__(self, installed: dict, seed: dict, port: int, tmp: Path, ttl: dict):
        self.port = port
        self.installed = installed
        self.stdout, self.stderr = tmp / "peer-stdout.log", tmp / "peer-stderr.log"
        self.spec_file = tmp / "peer-spec.json"
        self.spec_file.write_text(json.dumps({
            "issuer": f"http://127.0.0.1:{port}",
            "port": port,
            "redirect_uri": seed["redirect_uri"],
            "backchannel_logout_uri": seed["redirect_uri"].rsplit("/", 1)[0] + "/backchannel-logout",
            "scope": "openid profile email",
            "clients": [
                {"client_id": seed["client_id"], "client_secret": seed["client_secret"], "alg": "RS256"},
                {**seed["es256"], "alg": "ES256"},
            ],
            "accounts": seed["accounts"],
            "pairwise_secret": seed["pairwise_secret"],
            "acr": "http://eidas.europa.eu/LoA/low",
            "amr": ["pwd"],
            "ttl": ttl,
        }))
        self.proc: subprocess.Popen | None = None
        self.ready: dict = {}

    def start(self) -> None:
        with self.stdout.open("w") as out, self.stderr.open("w") as err:
            self.proc = subprocess.Popen(
                [self.installed["node"], str(BENCH / "peer.mjs"), self.installed["modules"], str(self.spec_file)],
                stdout=out, stderr=err, stdin=subprocess.DEVNULL, cwd=BENCH, start_new_session=True,
                env=dict(os.environ, NODE_ENV="production"),
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the peer exited with {self.proc.returncode}:\n{self.errors()}")
            line = self.stdout.read_text().strip()
            if line:
                self.ready = json.loads(line.splitlines()[0])
                return
            time.sleep(0.1)
        raise RuntimeError(f"the peer did not start:\n{self.errors()}")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)

    def errors(self) -> str:
        try:
            return self.stderr.read_text()[-4000:]
        except FileNotFoundError:
            return ""


# -- a small HTTP client for the set-up and the checks (not the load) ----------------------


class Browser:
    """One keep-alive connection to one side, with a cookie jar that ignores paths (one host)."""

    def __init__(self, port: int, cookies: str = ""):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
        self.jar = dict(part.split("=", 1) for part in cookies.split("; ") if part)

    def request(self, method: str, target: str, headers: dict | None = None, body: str | None = None):
        headers = dict(headers or {})
        if self.jar:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.jar.items())
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.conn.request(method, target, body=body, headers=headers)
        resp = self.conn.getresponse()
        data = resp.read()
        for raw in resp.headers.get_all("Set-Cookie") or []:
            name, _, rest = raw.partition("=")
            value = rest.split(";", 1)[0]
            if value and "expires=thu, 01 jan 1970" not in raw.lower():
                self.jar[name.strip()] = value
            else:
                self.jar.pop(name.strip(), None)
        return resp.status, resp.headers.get("Location"), data

    def json(self, method: str, target: str, headers: dict | None = None, body: str | None = None):
        status, _, data = self.request(method, target, headers, body)
        try:
            return status, json.loads(data)
        except ValueError:
            return status, {"raw": data[:300].decode("utf-8", "replace")}

    def close(self) -> None:
        self.conn.close()


def _basic(client: dict) -> dict:
    raw = f"{quote(client['client_id'], safe='')}:{quote(client['client_secret'], safe='')}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def _authorize_target(client_id: str, redirect_uri: str, challenge: str | None, nonce: str, **extra) -> str:
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "scope": "openid profile email",
              "state": secrets.token_urlsafe(12), "nonce": nonce, **extra}
    if challenge:
        params.update(code_challenge=challenge, code_challenge_method="S256")
    return "/authorize?" + urlencode(params)


def _path(location: str) -> str:
    parts = urlsplit(location)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def sign_in_peer(port: int, seed: dict, log) -> tuple[list[str], str]:
    """A session and a grant for both clients per citizen, through the peer's interaction API
    (bench/peer.mjs); returns the session Cookie headers, the check citizen's last."""
    clients = [seed["client_id"], seed["es256"]["client_id"]]
    headers = []
    started = time.monotonic()
    for account_id in seed["accounts"]:
        browser = Browser(port)
        for client_id in clients:
            _, challenge = loadgen.pkce()
            target = _authorize_target(client_id, seed["redirect_uri"], challenge, secrets.token_urlsafe(16),
                                       login_hint=account_id)
            for _ in range(8):
                status, location, body = browser.request("GET", target)
                if status not in (302, 303) or not location:
                    raise RuntimeError(f"peer sign-in: HTTP {status} at {target[:80]}: {body[:300]!r}")
                if location.startswith(seed["redirect_uri"]):
                    if "code" not in parse_qs(urlsplit(location).query):
                        raise RuntimeError(f"peer sign-in ended without a code: {location[:300]}")
                    break
                target = _path(location)
            else:
                raise RuntimeError("peer sign-in: too many redirects")
        session = {k: v for k, v in browser.jar.items() if k.startswith("_session")}
        if "_session" not in session:
            raise RuntimeError(f"peer sign-in left no session cookie: {sorted(browser.jar)}")
        headers.append("; ".join(f"{k}={v}" for k, v in session.items()))
        browser.close()
    log(f"peer: {len(headers)} citizens signed in, each with a grant for both clients, "
        f"in {time.monotonic() - started:.1f} s")
    return headers[:-1], headers[-1]


# -- the checks: both sides do the real work --------------------------------------------


def _b64json(part: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def expected_sub(seed: dict, account_id: str) -> str:
    mac = hmac.new(seed["pairwise_secret"].encode(), f"{seed['sector']}\x00{account_id}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()


class CheckFailed(RuntimeError):
    pass


def _code_for(browser: Browser, seed: dict, client: dict, nonce: str, pkce: bool = True) -> tuple[str | None, str, str]:
    """A code from the side's authorize for the browser's citizen: (code or None, verifier, error)."""
    verifier, challenge = loadgen.pkce()
    status, location, _ = browser.request(
        "GET", _authorize_target(client["client_id"], seed["redirect_uri"], challenge if pkce else None, nonce))
    query = parse_qs(urlsplit(location or "").query)
    return (query.get("code") or [None])[0], verifier, (query.get("error") or [f"HTTP {status}"])[0]


def _exchange(browser: Browser, seed: dict, client: dict, code: str, verifier: str, path: str = "/token"):
    """The code exchanged at ``path`` (client_secret_basic): (status, JSON)."""
    body = urlencode({"grant_type": "authorization_code", "code": code, "redirect_uri": seed["redirect_uri"],
                      "code_verifier": verifier})
    return browser.json("POST", path, _basic(client), body)


def check_side(side: str, port: int, seed: dict, cookie: str, account_id: str) -> dict:
    """The real work, verified on one side; raises CheckFailed. Returns what was seen, for the report."""
    from joserfc import jwt
    from joserfc.errors import JoseError
    from joserfc.jwk import KeySet

    def need(condition: bool, what: str) -> None:
        if not condition:
            raise CheckFailed(f"{side}: {what}")

    issuer = f"http://127.0.0.1:{port}"
    browser = Browser(port, cookie)
    status, discovery = browser.json("GET", "/.well-known/openid-configuration")
    need(status == 200 and discovery.get("issuer") == issuer, f"discovery: {status} {discovery}")
    status, jwks = browser.json("GET", _path(discovery["jwks_uri"]))
    need(status == 200 and jwks.get("keys"), f"jwks: {status}")
    keyset = KeySet.import_key_set(jwks)
    kids = {k.get("kid") for k in jwks["keys"]}
    seen: dict = {"side": side}

    def code_for(client: dict, nonce: str, pkce: bool = True) -> tuple[str | None, str, str]:
        return _code_for(browser, seed, client, nonce, pkce)

    def exchange(client: dict, code: str, verifier: str):
        return _exchange(browser, seed, client, code, verifier)

    rs = {"client_id": seed["client_id"], "client_secret": seed["client_secret"]}
    es = seed["es256"]
    for alg, client in (("ES256", es), ("RS256", rs)):
        nonce = secrets.token_urlsafe(16)
        code, verifier, error = code_for(client, nonce)
        need(code is not None, f"{alg} authorize gave no code ({error}): no existing session and grant?")
        status, token = exchange(client, code, verifier)
        need(status == 200 and "id_token" in token, f"{alg} exchange: {status} {token}")
        header = _b64json(token["id_token"].split(".")[0])
        need(header.get("alg") == alg, f"ID token alg {header.get('alg')}, expected {alg}")
        need(header.get("kid") in kids, f"ID token kid {header.get('kid')} is not in the JWKS")
        try:
            claims = jwt.decode(token["id_token"], keyset, algorithms=[alg]).claims
        except JoseError as exc:
            raise CheckFailed(f"{side}: {alg} ID token signature does not verify: {exc}") from None
        need(claims.get("iss") == issuer and claims.get("aud") == client["client_id"], f"iss/aud {claims}")
        need(claims.get("nonce") == nonce, "nonce not echoed")
        need(claims.get("exp", 0) - claims.get("iat", 0) == 600, f"ID token lifetime {claims.get('exp', 0) - claims.get('iat', 0)}")
        need(claims.get("sub") == expected_sub(seed, account_id), "sub is not the pairwise HMAC of the account")
        seen[alg] = {"kid": header["kid"], "claims": sorted(claims), "values": claims, "response": sorted(token),
                     "refresh_token": "refresh_token" in token, "expires_in": token.get("expires_in")}
    # The RS256 token (the last one) in use, then PKCE, then a code used twice.
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    status, info = browser.json("GET", "/userinfo", bearer)
    need(status == 200 and info.get("sub") == claims["sub"], f"userinfo: {status} {info}")
    seen["userinfo"] = sorted(info)
    status, intro = browser.json("POST", "/introspect", _basic(rs),
                                 urlencode({"token": token["access_token"], "token_type_hint": "access_token"}))
    need(status == 200 and intro.get("active") is True, f"introspection: {status} {intro}")
    seen["introspection"] = sorted(intro)
    code, verifier, error = code_for(rs, secrets.token_urlsafe(16), pkce=False)
    need(code is None, "authorize without code_challenge gave a code (PKCE not required)")
    seen["no_pkce"] = error
    code, verifier, _ = code_for(rs, secrets.token_urlsafe(16))
    status, wrong = exchange(rs, code, loadgen.pkce()[0])
    need(status == 400 and wrong.get("error") == "invalid_grant", f"wrong code_verifier: {status} {wrong}")
    status, first = exchange(rs, code, verifier)
    need(status == 200, f"exchange after a wrong verifier: {status} {first}")
    status, again = exchange(rs, code, verifier)
    need(status == 400 and again.get("error") == "invalid_grant", f"second use of a code: {status} {again}")
    status, after = browser.json("GET", "/userinfo", {"Authorization": f"Bearer {first['access_token']}"})
    need(status == 401, f"userinfo with the token of a replayed code: {status} (should be revoked)")
    browser.close()
    seen["replay"] = "second use: 400 invalid_grant; the first use's access token: 401"
    return seen


#: Token columns the floor's row must share with the row of ours' last check exchange (same citizen, client, scope)
FLOOR_SAME_COLUMNS = ("client_pk", "account_id", "scope", "refresh_digest", "acr", "amr", "released_claims")


def check_floor(port: int, seed: dict, ours: dict, cookie: str, app) -> str:
    """``--floor``: one exchange through the floor (bench/floor.py) on a code ours' authorize issued.
    Its ID token verifies with ours' JWKS and has ours' claims with ours' values and a right
    ``at_hash``; its token row has the values of the row of ours' last check exchange for the same
    citizen (``FLOOR_SAME_COLUMNS``, and the access lifetime); ours' userinfo accepts its access
    token; and the code does not work twice."""
    from authlib.oidc.core.util import create_half_hash
    from joserfc import jwt
    from joserfc.jwk import KeySet
    from sqlalchemy import select

    from idp.authorizations.models import Token
    from idp.extensions import db
    from idp.security.secrets import digest

    def need(condition: bool, what: str) -> None:
        if not condition:
            raise CheckFailed(f"floor: {what}")

    browser = Browser(port, cookie)
    status, jwks = browser.json("GET", "/jwks.json")
    need(status == 200, f"jwks: {status}")
    client = {"client_id": seed["client_id"], "client_secret": seed["client_secret"]}
    nonce = secrets.token_urlsafe(16)
    code, verifier, error = _code_for(browser, seed, client, nonce)
    need(code is not None, f"authorize gave no code ({error})")
    status, token = _exchange(browser, seed, client, code, verifier, floor.PATH)
    need(status == 200 and "id_token" in token, f"exchange: {status} {token}")
    claims = jwt.decode(token["id_token"], KeySet.import_key_set(jwks), algorithms=["RS256"]).claims
    need(claims.get("nonce") == nonce, "nonce not echoed")
    need(sorted(claims) == ours["RS256"]["claims"], f"claims {sorted(claims)}, ours {ours['RS256']['claims']}")
    differ = [k for k, v in ours["RS256"]["values"].items() if k not in VARYING and claims.get(k) != v]
    need(not differ, f"values differ from ours' in {differ}")
    need(claims.get("at_hash") == create_half_hash(token["access_token"], "RS256").decode(), "at_hash is wrong")
    with app.app_context():
        mine = db.session.scalar(select(Token).where(Token.access_digest == digest(token["access_token"])))
        need(mine is not None, "no token row for its access token")
        theirs = db.session.scalar(select(Token).where(Token.account_id == mine.account_id, Token.id < mine.id)
                                   .order_by(Token.id.desc()).limit(1))
        need(theirs is not None, "no token row of ours' check exchange to compare with")
        differ = [c for c in FLOOR_SAME_COLUMNS if getattr(mine, c) != getattr(theirs, c)]
        if mine.access_expires_at - mine.issued_at != theirs.access_expires_at - theirs.issued_at:
            differ.append("access lifetime")
        need(not differ, f"its token row differs from ours' in {differ}")
        db.session.rollback()
    status, info = browser.json("GET", "/userinfo", {"Authorization": f"Bearer {token['access_token']}"})
    need(status == 200 and info.get("sub") == claims["sub"], f"ours' userinfo with the floor's token: {status} {info}")
    status, again = _exchange(browser, seed, client, code, verifier, floor.PATH)
    need(status == 400 and again.get("error") == "invalid_grant", f"second use of a code: {status} {again}")
    browser.close()
    return ("  floor (bench/floor.py): on a code of ours' authorize, its RS256 ID token verifies with ours' JWKS and "
            "has ours' claims and values and a right at_hash; its token row has the values of ours' ("
            f"{', '.join(FLOOR_SAME_COLUMNS)}, the access lifetime); ours' userinfo accepts its access token; "
            "a second use: invalid_grant")


#: ID token claims that differ between any two tokens (or that one side does not make)
VARYING = {"iss", "aud", "iat", "exp", "auth_time", "nonce", "sid", "at_hash", "jti"}


def check_report(ours: dict, peer: dict) -> list[str]:
    out = ["Checks, before measuring (each side, with a citizen kept out of the load):"]
    for seen in (ours, peer):
        out.append(f"  {seen['side']}: ID tokens verified with the side's own JWKS: "
                   f"RS256 (kid {seen['RS256']['kid']}), ES256 (kid {seen['ES256']['kid']}); iss, aud, nonce, "
                   f"600 s lifetime, pairwise sub; no code_challenge: {seen['no_pkce']}; wrong code_verifier: "
                   f"invalid_grant; {seen['replay']}")
    same = [k for k in ours["RS256"]["values"] if k not in VARYING]
    differ = [k for k in same if ours["RS256"]["values"][k] != peer["RS256"]["values"].get(k)]
    if differ:
        raise CheckFailed(f"the sides' ID tokens differ in {', '.join(differ)}")
    out.append(f"  the same values on both sides in the ID token: {', '.join(same)} "
               "(sub: HMAC-SHA256 of sector and account with one secret)")
    for what, a, b in (("ID token claims", ours["RS256"]["claims"], peer["RS256"]["claims"]),
                       ("token response", ours["RS256"]["response"], peer["RS256"]["response"]),
                       ("userinfo", ours["userinfo"], peer["userinfo"]),
                       ("introspection", ours["introspection"], peer["introspection"])):
        only_ours, only_peer = sorted(set(a) - set(b)), sorted(set(b) - set(a))
        same = "same members" if not (only_ours or only_peer) else (
            f"only ours: {', '.join(only_ours) or '-'}; only the peer: {', '.join(only_peer) or '-'}")
        out.append(f"  {what}: {len(a)} vs {len(b)} members; {same}")
    return out


# -- the rounds ---------------------------------------------------------------------------


class Side:
    def __init__(self, name: str, server, seed: dict, tmp: Path, spec: dict):
        self.name, self.server, self.seed, self.spec = name, server, seed, spec
        self.codes = str(tmp / f"codes-{name}.json")
        self.tokens = str(tmp / f"tokens-{name}.json")
        self.rate: dict[str, float] = {}  # last token rate per alg, to mint just enough codes

    def seed_for(self, alg: str) -> dict:
        return dict(self.seed, **self.seed["es256"]) if alg == "ES256" else self.seed


def run_rounds(args, sides: list[Side], tmp: Path, harness, rounds: int, seconds: float, warm_up: bool = False) -> list[dict]:
    """``rounds`` rounds of every row on both sides; ``warm_up``: a short round first, not reported, so that
    the first measured round does not carry node's JIT compilation or the first statements' caches."""
    results = []
    for r in range(rounds):
        order = sides if r % 2 == 0 else sides[::-1]
        for label, phase, alg in ROWS:
            if args.wait_quiet > 0 and not warm_up:
                t0 = time.monotonic()
                harness.wait_quiet(args.wait_quiet, sample=1.0)
                args.wait_quiet -= time.monotonic() - t0
            for side in order:
                if side.name == "floor" and (phase, alg) not in FLOOR_PHASES:
                    continue
                row = FLOOR_PHASES[phase, alg] if side.name == "floor" else label
                extra = dict(side.spec, codes_file=side.codes)
                limit = seconds
                if phase == "mint":
                    # Enough codes for the exchange phase that follows: twice what the fastest exchange
                    # phase so far would use (the first round mints for the whole time limit).
                    rate = side.rate.get(alg)
                    extra["max_units"] = int(rate * seconds * 2) + 100 if rate else 100_000
                    limit = 2 * seconds
                if phase == "token" and alg == "RS256":
                    extra["tokens_file"] = side.tokens
                if phase in ("userinfo", "introspect"):
                    extra["tokens_file"] = side.tokens
                name = f"{'warm-up' if warm_up else f'r{r + 1}'}-{side.name}-{phase}-{alg}"
                result = harness.run_phase(name, phase, args, side.seed_for(alg), side.server, tmp, limit, wait=False,
                                           **extra)
                count = result["latency"].get(UNIT[phase], {}).get("count", 0)
                if phase == "token":
                    side.rate[alg] = max(side.rate.get(alg, 0.0), count / max(result["wall"], 1e-9))
                results.append({"round": r + 1, "side": side.name, "row": row, "phase": phase, "alg": alg,
                                "result": result})
    return results


def _totals(entries: list[dict]) -> dict:
    t = {"n": 0, "wall": 0.0, "server": 0.0, "postgres": 0.0, "loadgen": 0.0, "busy": 0.0, "capacity": 0.0,
         "errors": 0, "other_max": 0.0}
    cores = os.cpu_count() or 1
    for e in entries:
        res = e["result"]
        cpu = res["cpu"]
        t["n"] += res["latency"].get(UNIT[e["phase"]], {}).get("count", 0)
        t["wall"] += res["wall"]
        for k in ("server", "postgres", "loadgen"):
            t[k] += cpu[k]
        t["busy"] += cpu["machine_busy"]
        t["capacity"] += cpu["wall"] * cores
        t["errors"] += sum(res["errors"].values())
        other = (cpu["machine_busy"] - cpu["server"] - cpu["postgres"] - cpu["loadgen"]) / max(cpu["wall"] * cores, 1e-9)
        t["other_max"] = max(t["other_max"], other)
    return t


def _cost(side: str, t: dict) -> float:
    """Server CPU ms per operation: ours gunicorn + PostgreSQL, the peer its node process."""
    cpu = t["server"] + (t["postgres"] if side == "ours" else 0.0)
    return cpu / max(t["n"], 1) * 1e3


def _range(values: list[float]) -> str:
    return f"{min(values):.2f}-{max(values):.2f}" if values else "-"


def _summary_row(label: str, ours_entries: list[dict], peer_entries: list[dict]) -> list[str]:
    """One summary row: ``ours_entries`` (the provider's, or the floor's) against ``peer_entries``."""
    ours, peer = _totals(ours_entries), _totals(peer_entries)
    ratios, rps_ratios = [], []
    for r in sorted({e["round"] for e in ours_entries + peer_entries}):
        o = _totals([e for e in ours_entries if e["round"] == r])
        p = _totals([e for e in peer_entries if e["round"] == r])
        if o["n"] and p["n"]:
            ratios.append(_cost("peer", p) / _cost("ours", o))
            rps_ratios.append((o["n"] / o["wall"]) / (p["n"] / p["wall"]))
    o_ms, p_ms = _cost("ours", ours), _cost("peer", peer)
    o_rps, p_rps = ours["n"] / max(ours["wall"], 1e-9), peer["n"] / max(peer["wall"], 1e-9)
    return [
        label,
        f"{o_ms:.2f}", f"{ours['server'] / max(ours['n'], 1) * 1e3:.2f}+{ours['postgres'] / max(ours['n'], 1) * 1e3:.2f}",
        f"{p_ms:.2f}", f"{p_ms / o_ms:.2f}", _range(ratios),
        f"{o_rps:,.0f}", f"{p_rps:,.0f}", f"{o_rps / p_rps:.2f}", _range(rps_ratios),
        f"{max(ours['busy'] - ours['server'] - ours['postgres'] - ours['loadgen'], 0) / ours['capacity']:.0%}"
        f"/{max(peer['busy'] - peer['server'] - peer['postgres'] - peer['loadgen'], 0) / peer['capacity']:.0%}",
        f"{max(ours['other_max'], 0):.0%}/{max(peer['other_max'], 0):.0%}",
        f"{max(ours['capacity'] - ours['busy'], 0) / ours['capacity']:.0%}"
        f"/{max(peer['capacity'] - peer['busy'], 0) / peer['capacity']:.0%}",
    ]


def summary_rows(results: list[dict]) -> list[list[str]]:
    def entries(side: str, label: str) -> list[dict]:
        return [e for e in results if e["side"] == side and e["row"] == label]

    rows = [_summary_row(label, entries("ours", label), entries("peer", label))
            for label, *_ in ROWS if entries("ours", label) and entries("peer", label)]
    if entries("floor", FLOOR_ROW) and entries("peer", FLOOR_PEER_ROW):
        rows.append(_summary_row(FLOOR_ROW, entries("floor", FLOOR_ROW), entries("peer", FLOOR_PEER_ROW)))
    return rows


SUMMARY_HEADER = ["row", "ours ms", "gunicorn+pg", "peer ms", "CPU ratio", "per round", "ours req/s", "peer req/s",
                  "req/s ratio", "per round", "other o/p", "max other", "idle o/p"]


def detail_rows(results: list[dict]) -> list[list[str]]:
    rows = []
    cores = os.cpu_count() or 1
    for e in results:
        res, cpu = e["result"], e["result"]["cpu"]
        n = res["latency"].get(UNIT[e["phase"]], {}).get("count", 0)
        capacity = cpu["wall"] * cores
        other = cpu["machine_busy"] - cpu["server"] - cpu["postgres"] - cpu["loadgen"]
        lat = res["latency"].get(UNIT[e["phase"]], {})
        rows.append([
            str(e["round"]), e["side"], f"{e['phase']} {e['alg']}", f"{res['wall']:.1f}", f"{n:,}",
            f"{n / max(res['wall'], 1e-9):,.0f}", f"{cpu['server'] / max(n, 1) * 1e3:.2f}",
            f"{cpu['postgres'] / max(n, 1) * 1e3:.2f}", f"{cpu['loadgen'] / max(n, 1) * 1e3:.2f}",
            f"{lat.get('p50', 0):.1f}", f"{max(other, 0) / capacity:.0%}",
            f"{max(capacity - cpu['machine_busy'], 0) / capacity:.0%}", str(sum(res["errors"].values())),
        ])
    return rows


DETAIL_HEADER = ["round", "side", "phase", "wall s", "ops", "ops/s", "server ms", "pg ms", "loadgen ms", "p50 ms",
                 "other", "idle", "errors"]


# -- the command ---------------------------------------------------------------------------


def run(args, app, seed_data: dict, server, tmp: Path, started, t_start: float, harness) -> int:
    """Install and start the peer next to the running gunicorn, check both, measure, report."""
    log = harness.log
    rt = app.extensions["idp"]
    tokens = rt.settings.tokens
    ttl = {
        "authorization_code": tokens.authorization_code_seconds,
        "access_token": tokens.access_token_seconds,
        "id_token": tokens.id_token_seconds,
        "refresh_token": tokens.refresh_token_seconds,
        "session": rt.settings.session.absolute_seconds,
        "grant": 365 * 86400,  # ours keeps consent until it is withdrawn
    }
    installed = install(tmp, log)
    peer = Peer(installed, seed_data, harness.free_port(), tmp, ttl)
    try:
        peer.start()
        log(f"peer: oidc-provider {peer.ready['oidc_provider']} on node {peer.ready['node']}, "
            f"127.0.0.1:{peer.port}, pid {peer.pid}")
        cookie_headers, check_cookie = sign_in_peer(peer.port, seed_data, log)
        peer_seed = dict(seed_data, cookie_headers=cookie_headers)
        ids = list(seed_data["accounts"])
        ours_seen = check_side("ours", server.port, seed_data,
                               f"{seed_data['cookie_name']}={seed_data['check_session']}", ids[-1])
        peer_seen = check_side("peer", peer.port, seed_data, check_cookie, ids[-1])
        checks = check_report(ours_seen, peer_seen)
        log("checks passed on both sides")

        sides = [
            Side("ours", server, seed_data, tmp, {}),
            Side("peer", peer, peer_seed, tmp, {"workers": 1, "balance": False}),
        ]
        if args.floor:
            checks.append(check_floor(server.port, seed_data, ours_seen, f"{seed_data['cookie_name']}="
                                      f"{seed_data['check_session']}", app))
            sides.append(Side("floor", server, seed_data, tmp, {"token_path": floor.PATH}))
        for e in run_rounds(args, sides, tmp, harness, 1, 1.5, warm_up=True):
            if e["result"]["errors"]:
                raise RuntimeError(f"warm-up: {e['side']} {e['phase']} {e['alg']} failed: {e['result']['error_samples']}")
        results = run_rounds(args, sides, tmp, harness, args.race_rounds, args.race_seconds)
        peer.stop()
        server.stop()
    finally:
        peer.stop()

    cores = os.cpu_count() or 1
    out = [
        f"Race: the provider against node oidc-provider {peer.ready['oidc_provider']} (node {peer.ready['node']}), "
        f"{started:%Y-%m-%d %H:%M} UTC; {cores} cores",
        f"ours: {harness.server_label(args)}"
        + f", PostgreSQL on 127.0.0.1; the peer: one node process, state in memory; {args.citizens} citizens with "
          f"a session and consent on each side; concurrency {args.concurrency}; {args.race_rounds} rounds of "
          f"{args.race_seconds:g} s per row and side, interleaved",
        "",
        *checks,
        "",
        "Per round and side (server ms = CPU ms per operation of gunicorn or the node process; pg ms = PostgreSQL's):",
        harness.table(DETAIL_HEADER, detail_rows(results)),
        "",
        "Summary (all rounds pooled). ours ms = gunicorn + PostgreSQL CPU ms per operation, peer ms = its node",
        "process; CPU ratio = peer ms / ours ms, req/s ratio = ours / peer: 1.00 is parity, bigger is better for us.",
        "'per round' = the range of the rounds' ratios; other = the rest of the machine's load during the phases",
        "(mean, ours/peer), max other = the worst single phase; idle = the machine's idle share.",
        harness.table(SUMMARY_HEADER, summary_rows(results)),
    ]
    noisy = sorted({f"{e['side']} {e['phase']} {e['alg']} (round {e['round']})" for e in results
                    if (e["result"]["cpu"]["machine_busy"] - e["result"]["cpu"]["server"] - e["result"]["cpu"]["postgres"]
                        - e["result"]["cpu"]["loadgen"]) > 0.10 * e["result"]["cpu"]["wall"] * cores})
    if noisy:
        out.append(f"CAUTION: other processes used more than 10% of the machine during {len(noisy)} phase(s): "
                   f"{', '.join(noisy[:6])}{' ...' if len(noisy) > 6 else ''}")
    errors = [(e, k, v) for e in results for k, v in e["result"]["errors"].items()]
    if errors:
        out.append("Errors (unexpected responses), with sample bodies:")
        for e, k, v in errors:
            out.append(f"  round {e['round']} {e['side']} {e['phase']} {e['alg']}: {k}: {v}")
            for sample in e["result"]["error_samples"].get(k, [])[:1]:
                out.append(f"      {sample!r}")
    else:
        out.append("Errors: none (every authorize gave a code, every exchange an ID token, every userinfo and "
                   "introspection 200).")
    peer_log = peer.errors().strip()
    if peer_log:
        out.append("\npeer's stderr (tail):\n" + peer_log[-2000:])
    out.append(f"\nwhole run: {time.monotonic() - t_start:.0f} s")
    print("\n".join(out))
    if args.json:
        Path(args.json).write_text(json.dumps({"checks": [ours_seen, peer_seen], "results": results}, indent=1))
    return 1 if errors else 0
