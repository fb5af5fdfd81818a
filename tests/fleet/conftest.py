"""The fleet stage (``pytest -m fleet``, run by ``./dev test`` after the PostgreSQL run): two
gunicorn instances on a private PostgreSQL cluster and a private Redis, which the tests stop and
start. Nothing shared is touched: the cluster lives in a temporary folder on a free port.

Skips with a reason where PostgreSQL's server binaries, ``redis-server`` or gunicorn are absent.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from ..conftest import PAIRWISE, PASSPHRASE, SECRET
from ..support.live import free_port

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _as_owner(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its binaries as the ``postgres`` user then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


def wait_until(predicate, timeout: float, what: str, interval: float = 0.2) -> float:
    """Seconds until ``predicate()`` held; fails the test after ``timeout``."""
    start = time.monotonic()
    while True:
        try:
            if predicate():
                return time.monotonic() - start
        except requests.RequestException:
            pass
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


@dataclass
class PrivatePostgres:
    bin: Path
    data: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/idp"

    def _ctl(self, *args: str) -> None:
        subprocess.run(_as_owner([str(self.bin / "pg_ctl"), "-D", str(self.data), *args]), check=True,
                       capture_output=True, timeout=60)

    def init(self) -> None:
        subprocess.run(_as_owner([str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                                  "--no-sync", "-E", "UTF8"]), check=True, capture_output=True, timeout=120)
        self.start()
        subprocess.run(_as_owner([str(self.bin / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                                  "-qc", "CREATE DATABASE idp"]), check=True, capture_output=True, timeout=30)

    def start(self) -> None:
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.data} -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=60")
        self._ctl("-o", options, "-l", str(self.data / "server.log"), "-w", "start")

    def stop(self) -> None:
        self._ctl("-m", "fast", "-w", "stop")


@dataclass
class PrivateRedis:
    port: int
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_until(self._answers, 10, "redis-server")

    def _answers(self) -> bool:
        import redis

        return bool(redis.Redis(port=self.port, socket_connect_timeout=0.5).ping())

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@dataclass
class Instance:
    port: int
    process: subprocess.Popen
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _config(tmp: Path, pg: PrivatePostgres, redis_url: str, issuer: str) -> Path:
    keys = tmp / "keys"
    keys.mkdir(exist_ok=True)
    path = tmp / "config.toml"
    path.write_text(f"""
[server]
issuer = "{issuer}"
development = true
secret_key = "{SECRET}"

[database]
url = "{pg.url}"
pool_size = 4

[shared_state]
redis_url = "{redis_url}"

[keys]
dir = "{keys}"
passphrase = "{PASSPHRASE}"

[security]
pairwise_secret = "{PAIRWISE}"
argon2_time_cost = 1
argon2_memory_kib = 1024
argon2_parallelism = 1

[mail]
outbox_dir = "{tmp / 'outbox'}"
""")
    return path


def _environment(config: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
    env["IDP_CONFIG"] = str(config)
    return env


@dataclass
class Fleet:
    postgres: PrivatePostgres
    redis: PrivateRedis
    instances: list[Instance]
    config: Path

    @property
    def bases(self) -> list[str]:
        return [i.base for i in self.instances]


@pytest.fixture(scope="session")
def fleet(tmp_path_factory):
    pg_bin = _postgres_bin()
    if pg_bin is None:
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl): the fleet stage needs them")
    if shutil.which("redis-server") is None:
        pytest.skip("no redis-server: the fleet stage needs Redis")
    gunicorn = BIN / "gunicorn"
    if not gunicorn.exists():
        pytest.skip("no gunicorn in the environment: the fleet stage runs the provider under it")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: PostgreSQL cannot be started as root")

    tmp = tmp_path_factory.mktemp("fleet")
    # Its own folder outside pytest's (which only its owner may enter): the cluster's owner must reach it.
    cluster = Path(tempfile.mkdtemp(prefix="idp-fleet-pg-"))
    data = cluster / "data"
    data.mkdir(mode=0o700)
    if os.geteuid() == 0:
        shutil.chown(cluster, "postgres")
        shutil.chown(data, "postgres")
    pg = PrivatePostgres(pg_bin, data, free_port())
    redis = PrivateRedis(free_port())
    ports = [free_port(), free_port()]
    instances: list[Instance] = []
    pg.init()
    try:
        redis.start()
        config = _config(tmp, pg, redis.url, issuer=f"http://127.0.0.1:{ports[0]}")
        env = _environment(config)
        subprocess.run([str(BIN / "idp"), "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True,
                       timeout=120)
        subprocess.run([str(BIN / "idp"), "keys", "rotate"], env=env, cwd=ROOT, check=True, capture_output=True,
                       timeout=60)
        for port in ports:
            log = tmp / f"gunicorn-{port}.log"
            process = subprocess.Popen(
                [str(gunicorn), "-c", "gunicorn.conf.py", "idp.wsgi:app"],
                env={**env, "IDP_BIND": f"127.0.0.1:{port}", "IDP_WORKERS": "1", "IDP_THREADS": "8"},
                cwd=ROOT, stdout=log.open("wb"), stderr=subprocess.STDOUT,
            )
            instances.append(Instance(port, process, log))
        for instance in instances:
            wait_until(lambda i=instance: requests.get(f"{i.base}/readyz", timeout=5).status_code == 200, 90,
                       f"gunicorn on port {instance.port} to be ready")
        yield Fleet(pg, redis, instances, config)
    finally:
        for instance in instances:
            instance.process.terminate()
        for instance in instances:
            try:
                instance.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                instance.process.kill()
        redis.stop()
        try:
            pg.stop()
        except subprocess.CalledProcessError:
            pass  # already stopped by a test that failed midway
        shutil.rmtree(cluster, ignore_errors=True)
