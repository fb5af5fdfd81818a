"""Migration 0013_offline: a client that could get refresh tokens is allowed ``offline_access``, so it
keeps getting them once it asks (README, "Upgrades"); one without the grant is left as it was."""

from __future__ import annotations

import json

from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, text

from idp.app import MIGRATIONS, create_app
from idp.extensions import db

from ..conftest import make_settings

CLIENT = (
    "INSERT INTO client (id, client_id, name, agency, status, is_public, token_endpoint_auth_method, redirect_uris, "
    "post_logout_redirect_uris, grant_types, allowed_scopes, pending_scopes, application_type, "
    "id_token_signed_response_alg, subject_type, sector_identifier, created_via, created_at, updated_at, "
    "require_pushed_authorization_requests) "
    "VALUES (:id, :client_id, 'A', 'A', 'active', 0, 'client_secret_basic', '[]', '[]', :grants, :scopes, '', 'web', "
    "'RS256', 'pairwise', 'a.example.hu', 'cli', :t, :t, 0)"
)


def scopes(url):
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, allowed_scopes FROM client ORDER BY id")).all()
    engine.dispose()
    return [tuple(r) for r in rows]


def test_clients_with_the_refresh_grant_are_allowed_offline_access(tmp_path, keys_dir):
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    app = create_app(make_settings(url, keys_dir))
    with app.app_context():
        upgrade(directory=str(MIGRATIONS), revision="0009")
        engine = create_engine(url)
        with engine.begin() as conn:
            for id_, grants in ((1, ["authorization_code", "refresh_token"]), (2, ["authorization_code"])):
                conn.execute(text(CLIENT), {"id": id_, "client_id": f"c{id_}", "grants": json.dumps(grants),
                                            "scopes": "openid profile email", "t": "2026-01-01 00:00:00"})
        engine.dispose()
        upgrade(directory=str(MIGRATIONS), revision="0013_offline")
        after = scopes(url)
        downgrade(directory=str(MIGRATIONS), revision="0009")
        back = scopes(url)
        db.engine.dispose()
    assert after == [(1, "openid profile email offline_access"), (2, "openid profile email")]
    assert back == [(1, "openid profile email"), (2, "openid profile email")]
