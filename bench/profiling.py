"""``bench/run --profile``: where a token request's CPU goes, sampled with py-spy under real load.

After the measured phases, codes are minted again and a token phase runs while
py-spy (``pip install py-spy``) samples every gunicorn worker. Only samples of
threads that are on the CPU are kept (no ``--idle``), so this is a CPU profile:
waiting for PostgreSQL does not show, its cost shows in the SQL round-trip
counts instead. The samples are summarised two ways:

* by library: each sample is charged to the innermost frame that belongs to a
  known package (the standard library is charged to its caller);
* inclusive share of named steps of the token endpoint.
"""

from __future__ import annotations

import collections
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import floor

FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^():]*)(?::(?P<line>\d+))?\)$")

#: (bucket, path fragment) in matching order; the first fragment found in a frame's file wins.
LIBRARIES = [
    ("psycopg (driver, protocol)", "/psycopg/"),
    ("cryptography / OpenSSL (RSA signing)", "/cryptography/"),
    ("joserfc (JWS/JWT)", "/joserfc/"),
    ("SQLAlchemy", "/sqlalchemy/"),
    ("Authlib", "/authlib/"),
    ("Flask-SQLAlchemy", "/flask_sqlalchemy/"),
    ("Flask / Werkzeug / Jinja", "/flask/"),
    ("Flask / Werkzeug / Jinja", "/werkzeug/"),
    ("Flask / Werkzeug / Jinja", "/jinja2/"),
    ("Flask extensions (babel, wtf)", "/flask_babel/"),
    ("Flask extensions (babel, wtf)", "/flask_wtf/"),
    ("Flask extensions (babel, wtf)", "/babel/"),
    ("gunicorn (HTTP parsing, sockets)", "/gunicorn/"),
    ("the floor (bench/floor.py)", "/bench/floor.py"),
    ("benchmark SQL counter (bench/wsgi_app.py)", "/bench/"),
    ("idp (the provider's own code)", "/idp/"),
]

#: The view a token phase runs: ours' ``/token``, or the floor's (``--profile --floor``).
OURS_VIEW = ("token", "/idp/web/oauth.py")
FLOOR_VIEW = ("add_route.<locals>.token", "/bench/floor.py")


#: Named steps of the token endpoint: (label, function name, file fragment).
STEPS = [
    ("Flask token view, total", *OURS_VIEW),
    ("the floor's view, total (--floor)", *FLOOR_VIEW),
    ("  client authentication (query_client + secret check)", "authenticate_token_endpoint_client", "/authlib/"),
    ("  grant.validate_token_request (code lookup, PKCE)", "validate_token_request", "/authlib/oauth2/rfc6749/grants/authorization_code.py"),
    ("    query_authorization_code (SELECT code)", "query_authorization_code", "/idp/oidc/grants.py"),
    ("  grant.create_token_response", "create_token_response", "/authlib/oauth2/rfc6749/grants/authorization_code.py"),
    ("    authenticate_user (claim UPDATE, SELECT account, gate)", "authenticate_user", "/idp/oidc/grants.py"),
    ("    save_token (ORM add)", "save_token", "/idp/oidc/server.py"),
    ("    ID token: encode_id_token", "encode_id_token", "/authlib/oidc/core/grants/code.py"),
    ("      claims (generate_user_info, pairwise sub)", "generate_user_info", "/idp/oidc/grants.py"),
    ("      joserfc jwt.encode (RS256 signature)", "encode", "/joserfc/jwt.py"),
    ("  after_request: commit (INSERT token, COMMIT)", "_commit", "/idp/web/security.py"),
    ("  after_request: security headers", "_headers", "/idp/web/security.py"),
    ("  teardown: session.remove (return connection)", "shutdown_session", "/flask_sqlalchemy/"),
    ("all SQL execution through SQLAlchemy (inclusive)", "_execute_context", "/sqlalchemy/engine/base.py"),
    ("pool checkout incl. pre-ping", "_checkout", "/sqlalchemy/pool/base.py"),
]


def _parse(raw_files: list[Path]) -> list[tuple[list[tuple[str, str]], int]]:
    samples = []
    for path in raw_files:
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack or not count.isdigit():
                continue
            frames = []
            for frame in stack.split(";"):
                m = FRAME.match(frame)
                frames.append((m.group("func"), m.group("file")) if m else (frame, ""))
            samples.append((frames, int(count)))
    return samples


def summarise(raw_files: list[Path], view: tuple[str, str] = OURS_VIEW) -> str:
    samples = _parse(raw_files)
    total = sum(c for _, c in samples)
    if not total:
        return "py-spy recorded no samples"
    view_func, view_file = view
    token_samples = [(f, c) for f, c in samples if any(fn == view_func and view_file in fi for fn, fi in f)]
    token_total = sum(c for _, c in token_samples)

    by_lib = collections.Counter()
    for frames, count in samples:
        bucket = "Python standard library / interpreter (no caller matched)"
        for _func, file in reversed(frames):
            hit = next((name for name, frag in LIBRARIES if frag in file), None)
            if hit:
                bucket = hit
                break
        by_lib[bucket] += count

    def named(fn: str, func: str) -> bool:
        # py-spy names methods Class.method and closures outer.<locals>.inner
        return fn == func or fn.endswith("." + func)

    steps = []
    for label, func, frag in STEPS:
        n = sum(c for frames, c in samples if any(named(fn, func) and frag in fi for fn, fi in frames))
        steps.append((label, n))

    leaves = collections.Counter()
    for frames, count in samples:
        func, file = frames[-1]
        leaves[f"{func} ({_short(file)})"] += count

    out = [f"py-spy CPU profile of the workers during a token phase: {total:,} samples "
           f"({token_total / total:.0%} inside the /token view; the rest is gunicorn and Flask around it)."]
    out.append("")
    out.append("Self time by library (innermost known frame):")
    for name, n in by_lib.most_common():
        out.append(f"  {n / total:6.1%}  {name}")
    out.append("")
    out.append("Inclusive time of named steps (share of all samples):")
    for label, n in steps:
        out.append(f"  {n / total:6.1%}  {label}")
    out.append("")
    out.append("Call tree of the /token view (share of all samples; a call into a library includes everything below it):")
    out.extend(call_tree(samples, view_func, view_file, total))
    out.append("")
    out.append("Hottest innermost frames (self time):")
    for name, n in leaves.most_common(15):
        out.append(f"  {n / total:6.1%}  {name}")
    return "\n".join(out)


def _library(file: str) -> str | None:
    return next((name for name, frag in LIBRARIES if frag in file), None)


def call_tree(samples, root_func: str, root_file: str, total: int, min_share: float = 0.01) -> list[str]:
    """The call tree below ``root_func``: the provider's and Authlib's frames in full; a call into
    any other library is one leaf that includes everything below it."""
    tree: dict = {}
    for frames, count in samples:
        start = next((i for i, (fn, fi) in enumerate(frames) if fn == root_func and root_file in fi), None)
        if start is None:
            continue
        node = tree
        for depth, (func, file) in enumerate(frames[start:]):
            key = f"{func} ({_short(file)})"
            child = node.setdefault(key, {"n": 0, "kids": {}})
            child["n"] += count
            lib = _library(file)
            if depth and lib is not None and not any(t in file for t in ("/idp/", "/authlib/")):
                break  # a library call below the root: charge everything below it here
            node = child["kids"]
    lines: list[str] = []

    def walk(node, depth):
        for key, child in sorted(node.items(), key=lambda kv: -kv[1]["n"]):
            if child["n"] / total < min_share:
                continue
            lines.append(f"  {child['n'] / total:6.1%}  {'  ' * depth}{key}")
            walk(child["kids"], depth + 1)

    walk(tree, 0)
    return lines


def _short(file: str) -> str:
    for marker in ("/site-packages/", "/lib/python3.11/", "/work/main/"):
        if marker in file:
            return file.split(marker, 1)[1]
    return file


def record_token_phase(args, seed_data, server, tmp: Path, run_phase) -> str:
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        return "--profile: py-spy is not installed (pip install py-spy into the venv)"
    run_phase("profile-mint", "mint", args, seed_data, server, tmp, 2 * args.seconds, max_units=args.codes)
    seconds = args.seconds
    procs, files = [], []
    for pid in server.workers():
        out = tmp / f"pyspy-{pid}.txt"
        files.append(out)
        procs.append(subprocess.Popen(
            [spy, "record", "--pid", str(pid), "--rate", "250", "--format", "raw", "--output", str(out),
             "--nonblocking", "--gil", "--full-filenames"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        ))
    time.sleep(1.0)  # let py-spy attach
    saved, args.wait_quiet = args.wait_quiet, 0  # the wait happened before minting; py-spy is recording now
    try:
        # --floor: the floor's exchange (bench/floor.py) on the same codes, instead of ours'
        extra = {"token_path": floor.PATH} if args.floor else {}
        run_phase("profile-token", "token", args, seed_data, server, tmp, seconds, **extra)
    finally:
        args.wait_quiet = saved
        for p in procs:
            p.send_signal(signal.SIGINT)  # py-spy writes its output when interrupted
    errors = []
    for p in procs:
        try:
            _, err = p.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            _, err = p.communicate()
        if p.returncode:
            errors.append(err.decode(errors="replace")[-500:])
    present = [f for f in files if f.exists()]
    if not present:
        return "--profile: py-spy produced no output:\n" + "\n".join(errors)
    if args.profile_raw:
        keep = Path(args.profile_raw)
        keep.mkdir(parents=True, exist_ok=True)
        for f in present:
            shutil.copy(f, keep / f.name)
    return summarise(present, FLOOR_VIEW if args.floor else OURS_VIEW)
