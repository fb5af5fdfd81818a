"""GET /metrics (idp.metrics, idp.web.monitoring): who may read it, and counters that move."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from prometheus_client.parser import text_string_to_metric_families

from idp.app import create_app
from idp.lifecycle.context import Links
from idp.lifecycle.jobs import run_jobs
from idp.extensions import db as _db
from tests.conftest import _empty_tables, make_settings

from ..support.factories import make_account, make_client
from ..support.flows import Agency, Citizen

TOKEN = "m" * 40


def scrape(client, **kwargs) -> dict[tuple, float]:
    response = client.get("/metrics", **kwargs)
    assert response.status_code == 200, response.status_code
    assert response.headers["Content-Type"].startswith("text/plain")
    values = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            values[(sample.name, *sorted(sample.labels.items()))] = sample.value
    return values


def value(values, name, **labels) -> float:
    return values.get((name, *sorted(labels.items())), 0.0)


def test_loopback_reads_the_metrics_and_another_address_is_refused(client):
    values = scrape(client)
    assert value(values, "idp_ready", component="database") == 1.0
    refused = client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert refused.status_code == 403
    assert b"idp_" not in refused.data


@pytest.fixture
def guarded(_schema, database_url, keys_dir, clock, tmp_path):
    settings = make_settings(database_url, keys_dir, mail={"outbox_dir": str(tmp_path / "outbox")},
                             metrics={"allow_from": ["10.0.0.0/8"], "token": TOKEN})
    app = create_app(settings, clock=clock)
    with app.app_context():
        yield app.test_client()


def test_a_scraper_needs_an_allowed_address_and_the_token(guarded):
    inside = {"REMOTE_ADDR": "10.1.2.3"}
    assert guarded.get("/metrics").status_code == 403  # loopback is not in this list
    missing = guarded.get("/metrics", environ_base=inside)
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert guarded.get("/metrics", environ_base=inside, headers={"Authorization": "Bearer " + "m" * 39 + "n"}).status_code == 401
    assert guarded.get("/metrics", environ_base=inside, headers={"Authorization": "Basic " + TOKEN}).status_code == 401
    scrape(guarded, environ_base=inside, headers={"Authorization": "Bearer " + TOKEN})
    outside = guarded.get("/metrics", environ_base={"REMOTE_ADDR": "192.0.2.1"}, headers={"Authorization": "Bearer " + TOKEN})
    assert outside.status_code == 403


def test_metrics_must_not_be_open_to_anyone(database_url, keys_dir):
    from idp.settings import SettingsError

    with pytest.raises(SettingsError, match="metrics.allow_from"):
        make_settings(database_url, keys_dir, metrics={"allow_from": []})
    with pytest.raises(SettingsError, match="metrics.token"):
        make_settings(database_url, keys_dir, metrics={"token": "short"})


def test_counters_move_with_sign_ins_tokens_errors_and_jobs(client, rt, db):
    account = make_account(rt)
    citizen = Citizen(client, rt, account)
    c, secret = make_client(rt)
    agency = Agency(client, c, secret, offline=True)
    before = scrape(client)

    citizen.sign_in(password="wrong-password-1!")
    assert citizen.sign_in().status_code == 303
    tokens = agency.exchange(agency.get_code()).get_json()
    agency.refresh(tokens["refresh_token"])
    assert agency.exchange("no-such-code").status_code == 400
    run_jobs(db.session, rt.now(), rt.policy, rt.mailer, links=Links.under(rt.issuer))

    after = scrape(client)

    def moved(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("idp_sign_ins_total", outcome="signed_in", method="password") == 1
    assert moved("idp_sign_ins_total", outcome="sign_in_failed", method="password") == 1
    assert moved("idp_issued_total", kind="code", grant="authorization_code", client_id=c.client_id) == 1
    assert moved("idp_issued_total", kind="access_token", grant="authorization_code", client_id=c.client_id) == 1
    assert moved("idp_issued_total", kind="id_token", grant="authorization_code", client_id=c.client_id) == 1
    assert moved("idp_issued_total", kind="refresh_token", grant="refresh_token", client_id=c.client_id) == 1
    assert moved("idp_protocol_errors_total", endpoint="/token", error="invalid_grant") == 1
    assert moved("idp_job_runs_total", dry_run="false") == 1
    assert moved("idp_request_duration_seconds_count", endpoint="/token", method="POST") == 3
    assert moved("idp_requests_total", endpoint="/token", method="POST", status="400") == 1
    # Latency is per route rule: no label holds a raw path, a query or an interaction's id.
    endpoints = {dict(key[1:]).get("endpoint") for key in after if key[0] == "idp_request_duration_seconds_count"}
    assert "/interaction/<uid>" in endpoints or "/authorize" in endpoints
    assert all(e == "unmatched" or "?" not in e for e in endpoints)


def test_gate_refusals_and_throttle_blocks_are_counted(client, rt):
    from idp.accounts.states import AccountState

    ended = make_account(rt, state=AccountState.ACTIVE, initial_password=True)
    c, secret = make_client(rt)
    agency = Agency(client, c, secret)
    before = scrape(client)
    Citizen(client, rt, ended).signed_in_quickly()
    agency.visit()  # the gate sends the citizen to change the initial password
    throttled = make_account(rt)
    for _ in range(rt.settings.security.login_account_failures_before_block + 2):
        rt.clock.advance(seconds=120)
        Citizen(client, rt, throttled).sign_in(password="wrong-password-2!")
    after = scrape(client)
    assert value(after, "idp_gate_refusals_total", reason="initial_password", checkpoint="authorize") > value(
        before, "idp_gate_refusals_total", reason="initial_password", checkpoint="authorize")
    assert value(after, "idp_throttle_blocks_total", kind="password") > value(before, "idp_throttle_blocks_total", kind="password")


def test_multiprocess_mode_sums_the_workers(tmp_path):
    """Under gunicorn every worker writes its values to PROMETHEUS_MULTIPROC_DIR; a scrape sums them."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    worker = textwrap.dedent("""
        from idp import metrics
        metrics.sign_in("signed_in", "password")
        metrics.observe_request("POST", "/token", 200, 0.02)
    """)
    for _ in range(2):
        subprocess.run([sys.executable, "-c", worker], env=env, check=True)
    scraper = "from idp import metrics; import sys; sys.stdout.write(metrics.exposition().decode())"
    text = subprocess.run([sys.executable, "-c", scraper], env=env, check=True, capture_output=True, text=True).stdout
    values = {(s.name, *sorted(s.labels.items())): s.value
              for f in text_string_to_metric_families(text) for s in f.samples}
    assert value(values, "idp_sign_ins_total", outcome="signed_in", method="password") == 2
    assert value(values, "idp_request_duration_seconds_count", endpoint="/token", method="POST") == 2


def test_jobs_from_cron_leave_what_they_did_for_the_textfile_collector(_schema, database_url, keys_dir, clock, tmp_path):
    from datetime import timedelta

    from ..support.cli import run

    target = tmp_path / "textfile" / "idp_jobs.prom"
    target.parent.mkdir()
    settings = make_settings(database_url, keys_dir, mail={"outbox_dir": str(tmp_path / "outbox")},
                             metrics={"jobs_textfile": str(target)})
    app = create_app(settings, clock=clock)
    with app.app_context():
        try:
            make_account(app.extensions["idp"], valid_for=timedelta(days=5))  # a validity reminder is due
            result = run(app, "jobs", "run", "--json")
            assert result.exit_code == 0, result.output
        finally:
            _db.session.remove()
            _empty_tables()
    values = {(s.name, *sorted(s.labels.items())): s.value
              for f in text_string_to_metric_families(target.read_text()) for s in f.samples}
    assert value(values, "idp_job_last_run_items", action="reminded") == 1
    assert value(values, "idp_job_last_run_items", action="failed") == 0
    assert value(values, "idp_job_last_run_finished_timestamp_seconds") > 0
