"""gunicorn as the README runs it (gunicorn.conf.py): the port opens only once the application is
built, a SIGTERM lets the request in flight finish, and the logs are JSON."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import PAIRWISE, PASSPHRASE, SECRET

from ..support.live import free_port

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).with_name("gunicorn")
pytestmark = [pytest.mark.e2e, pytest.mark.skipif(not GUNICORN.exists(), reason="gunicorn is not installed")]


def environment(database_url, keys_dir, tmp_path, port, **extra) -> dict:
    return {
        **os.environ,
        "IDP_BIND": f"127.0.0.1:{port}", "IDP_WORKERS": "1", "IDP_CONFIG": "",
        "IDP_SERVER_ISSUER": f"http://127.0.0.1:{port}", "IDP_SERVER_DEVELOPMENT": "true",
        "IDP_SERVER_SECRET_KEY": SECRET, "IDP_SECURITY_PAIRWISE_SECRET": PAIRWISE,
        "IDP_KEYS_DIR": str(keys_dir), "IDP_KEYS_PASSPHRASE": PASSPHRASE,
        "IDP_DATABASE_URL": database_url, "IDP_MAIL_OUTBOX_DIR": str(tmp_path / "outbox"),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        **extra,
    }


def start(env, app="tests.support.slow_wsgi:app", log=None) -> subprocess.Popen:
    return subprocess.Popen([str(GUNICORN), "-c", "gunicorn.conf.py", app], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=log or subprocess.DEVNULL)


def accepts(port) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def test_a_broken_application_never_opens_the_port(_schema, database_url, keys_dir, tmp_path):
    port = free_port()
    process = start(environment(database_url, keys_dir, tmp_path, port, IDP_SERVER_SECRET_KEY="too-short"))
    opened = False
    while process.poll() is None:
        opened = opened or accepts(port)
        time.sleep(0.02)
    assert process.returncode != 0
    assert not opened


def test_sigterm_lets_the_request_in_flight_finish_and_logs_are_json(_schema, database_url, keys_dir, tmp_path):
    port = free_port()
    mark = tmp_path / "slow-request-began"
    log = open(tmp_path / "gunicorn.log", "w")
    process = start(environment(database_url, keys_dir, tmp_path, port, IDP_TEST_SLOW_MARK=str(mark)), log=log)
    try:
        for _ in range(1200):  # the port opens once the application is built, and then it answers
            if accepts(port):
                break
            assert process.poll() is None, (tmp_path / "gunicorn.log").read_text()
            time.sleep(0.05)
        first = urllib.request.urlopen(f"http://127.0.0.1:{port}/.well-known/openid-configuration", timeout=30)
        assert first.status == 200
        scraped = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30).read().decode()
        assert 'idp_requests_total{endpoint="/.well-known/openid-configuration",method="GET",status="200"} 1.0' in scraped
        assert any(p.suffix == ".db" for p in (tmp_path / "metrics").iterdir())  # multiprocess mode

        answer = {}

        def slow():
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/__slow", timeout=30) as response:
                answer["status"], answer["body"] = response.status, json.loads(response.read())

        thread = threading.Thread(target=slow)
        thread.start()
        deadline = time.monotonic() + 20
        while not mark.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert mark.exists()
        process.send_signal(signal.SIGTERM)
        thread.join(timeout=30)
        assert answer.get("status") == 200 and answer["body"]["issuer"] == f"http://127.0.0.1:{port}"
        assert process.wait(timeout=40) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        log.close()
    lines = (tmp_path / "gunicorn.log").read_text().splitlines()
    events = [json.loads(line) for line in lines]
    assert {"gunicorn.error", "idp.access"} <= {e["logger"] for e in events}
    access = [e for e in events if e["logger"] == "idp.access"]
    assert [e["status"] for e in access] == [200, 200, 200]
    assert all(e["request_id"] and e["process"] and e["time"] for e in access)
