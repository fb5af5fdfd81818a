"""The operator's lifecycle commands: ``idp offices``, ``idp officers``, ``idp jobs run``, ``idp audit list``."""

from __future__ import annotations

import json
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import select

from idp.accounts.errors import AccountError
from idp.accounts.models import Account
from idp.accounts.states import AccountState
from idp.offices.models import Officer
from idp.offices.service import verify_officer

from ..support.cli import run
from ..support.factories import make_account
from ..support.lifecycle import OFFICER_PASSWORD, RecordingNotifier, context, make_officer, register_in_person


@pytest.fixture
def mail(rt):
    rt.mailer = RecordingNotifier()  # the commands send through the runtime's mailer
    return rt.mailer


def test_offices_add_and_list(app):
    result = run(app, "offices", "add", "--code", "bp-xi-01", "--name", "Budapest XI. kerületi Kormányablak",
                 "--address", "1113 Budapest, Bocskai út 39.", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["code"] == "BP-XI-01"
    assert "BP-XI-01" in run(app, "offices", "list").output
    again = run(app, "offices", "add", "--code", "BP-XI-01", "--name", "Másik")
    assert again.exit_code != 0 and "office_code_taken" in again.output


def test_officers_add_prints_the_totp_secret_once_and_stores_it_sealed(app, rt, db):
    run(app, "offices", "add", "--code", "DEB-01", "--name", "Debreceni Kormányablak")
    result = run(app, "officers", "add", "--office", "deb-01", "--username", "nagy.peter", "--name", "Nagy Péter",
                 "--password", OFFICER_PASSWORD, "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["otpauth_uri"].startswith("otpauth://totp/") and out["totp_secret"] in out["otpauth_uri"]
    officer = db.session.scalar(select(Officer).where(Officer.username == "nagy.peter"))
    assert out["totp_secret"] not in officer.totp_secret_sealed
    code = pyotp.parse_uri(out["otpauth_uri"]).at(rt.now())
    assert verify_officer(db.session, rt.passwords, rt.sealer, "NAGY.PETER", OFFICER_PASSWORD, code, rt.now())
    listed = run(app, "officers", "list").output
    assert "nagy.peter" in listed and out["totp_secret"] not in listed
    weak = run(app, "officers", "add", "--office", "DEB-01", "--username", "masik", "--name", "Más", "--password", "x")
    assert weak.exit_code != 0 and "password_too_short" in weak.output
    nowhere = run(app, "officers", "add", "--office", "NONE", "--username", "u3", "--name", "N", "--password", OFFICER_PASSWORD)
    assert nowhere.exit_code != 0 and "office_not_found" in nowhere.output


def test_jobs_run_as_of_a_date_dry_run_then_for_real(app, rt, db, mail):
    ctx = context(rt, mail)
    awaiting = register_in_person(rt, ctx).identifier
    ending = make_account(rt, valid_for=timedelta(days=3)).identifier
    reminded = make_account(rt, valid_for=timedelta(days=25)).identifier
    mail.sent.clear()
    as_of = (rt.now() + timedelta(days=7)).date().isoformat()

    dry = run(app, "jobs", "run", "--as-of", as_of, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert f"would lapse   {awaiting}" in dry.output and f"would expire  {ending}" in dry.output
    assert f"would remind  {reminded}" in dry.output
    assert "1 reminder(s) would be sent, 1 registration(s) would be lapsed, 1 account(s) would be expired" in dry.output
    assert mail.sent == []

    real = run(app, "jobs", "run", "--as-of", as_of)
    assert real.exit_code == 0, real.output
    assert "1 reminder(s) sent, 1 registration(s) lapsed, 1 account(s) expired" in real.output
    assert "… validity reminders" in real.output  # progress lines (on stderr)
    states = dict(db.session.execute(select(Account.identifier, Account.state)).all())
    assert (states[awaiting], states[ending], states[reminded]) == (AccountState.LAPSED, AccountState.EXPIRED,
                                                                     AccountState.ACTIVE)
    assert {s.template for s in mail.sent} == {"account_lapsed", "account_expired", "validity_reminder"}

    once_more = json.loads(run(app, "jobs", "run", "--as-of", as_of, "--json").output)
    assert (once_more["reminders"], once_more["lapsed"], once_more["expired"]) == (0, 0, 0)


def test_jobs_run_refuses_a_malformed_date(app):
    result = run(app, "jobs", "run", "--as-of", "tomorrow")
    assert result.exit_code != 0 and "YYYY-MM-DD" in result.output


def test_audit_list_filters_by_account_event_and_time(app, rt, db, mail):
    ctx = context(rt, mail)
    login = make_officer(rt)
    sheet = register_in_person(rt, ctx, login)
    rows = json.loads(run(app, "audit", "list", "--account", sheet.identifier.lower(), "--json").output)
    assert [r["event"] for r in reversed(rows)] == [
        "registration_started", "identity_verified", "statement_recorded", "registration_completed",
        "activation_code_issued",
    ]
    assert {r["account"] for r in rows} == {sheet.identifier}
    assert rows[0]["actor"] == f"officer:{login.officer.username}" and rows[0]["office"]
    only = json.loads(run(app, "audit", "list", "--event", "statement_recorded", "--json").output)
    assert len(only) == 1 and only[0]["details"]["method"] == "in_person"
    future = (rt.now() + timedelta(days=1)).date().isoformat()
    assert json.loads(run(app, "audit", "list", "--since", future, "--json").output) == []
    text = run(app, "audit", "list").output
    assert "registration_completed" in text and sheet.initial_password not in text
    missing = run(app, "audit", "list", "--account", "UK-NONE-NONE-NONE")
    assert missing.exit_code != 0 and "account_not_found" in missing.output


def test_officers_reset_totp_replaces_the_secret(app, rt, db):
    login = make_officer(rt)
    result = run(app, "officers", "reset-totp", "--username", login.officer.username, "--json")
    assert result.exit_code == 0, result.output
    new_secret = json.loads(result.output)["totp_secret"]
    assert new_secret != login.totp_secret
    stale = pyotp.TOTP(login.totp_secret).at(rt.now())
    fresh = pyotp.TOTP(new_secret).at(rt.now())
    with pytest.raises(AccountError):  # the old secret no longer works
        verify_officer(db.session, rt.passwords, rt.sealer, login.officer.username, OFFICER_PASSWORD, stale, rt.now())
    assert verify_officer(db.session, rt.passwords, rt.sealer, login.officer.username, OFFICER_PASSWORD, fresh, rt.now())
