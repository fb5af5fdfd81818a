"""Migration 0008 moves an electronic registration's certificate from the audit trail onto the account."""

from __future__ import annotations

import json

from flask_migrate import upgrade
from sqlalchemy import create_engine, text

from idp.app import MIGRATIONS, create_app
from idp.extensions import db

from ..conftest import make_settings

ACCOUNT = (
    "INSERT INTO account (id, identifier, state, state_changed_at, must_change_password, email_verified, locale, "
    "registration_channel, registered_at, is_test, created_at, updated_at, verification_method, ended_at) "
    "VALUES (:id, :identifier, 'active', :t, 0, 1, 'hu', :channel, :t, 0, :t, :t, :channel, :ended)"
)
EVENT = ("INSERT INTO audit_event (at, event, actor_kind, actor, account_id, details) "
         "VALUES (:t, 'identity_verified', 'citizen', '', :id, :details)")


def test_electronic_registrations_get_their_certificate_from_the_audit_trail(tmp_path, keys_dir):
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    app = create_app(make_settings(url, keys_dir))
    signed = {"method": "e_signature", "certificate_issuer": "CN=Test CA,C=HU", "certificate_serial": "1A2B"}
    with app.app_context():
        upgrade(directory=str(MIGRATIONS), revision="0004")
        engine = create_engine(url)
        with engine.begin() as conn:
            for id_, channel, details, ended in ((1, "e_signature", signed, None), (2, "in_person", {"method": "in_person"}, None),
                                                 (3, "e_signature", signed, "2026-01-02 00:00:00")):
                conn.execute(text(ACCOUNT), {"id": id_, "identifier": f"UK-{id_}", "t": "2026-01-01 00:00:00",
                                             "channel": channel, "ended": ended})
                conn.execute(text(EVENT), {"t": "2026-01-01 00:00:00", "id": id_, "details": json.dumps(details)})
        upgrade(directory=str(MIGRATIONS), revision="0008")
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT id, signature_certificate_issuer, signature_certificate_serial "
                                     "FROM account ORDER BY id")).all()
        engine.dispose()
        db.engine.dispose()
    # The erased account (3) stays without: its personal data is gone.
    assert [tuple(r) for r in rows] == [(1, "CN=Test CA,C=HU", "1A2B"), (2, None, None), (3, None, None)]
