"""Migration 0011_passkeys adds the passkey table and takes it away again on downgrade."""

from __future__ import annotations

from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect

from idp.app import MIGRATIONS, create_app
from idp.extensions import db

from ..conftest import make_settings


def test_the_passkey_table_comes_and_goes_with_its_migration(tmp_path, keys_dir):
    url = f"sqlite:///{tmp_path / 'migrate.sqlite3'}"
    app = create_app(make_settings(url, keys_dir))
    with app.app_context():
        upgrade(directory=str(MIGRATIONS), revision="0011_passkeys")
        engine = create_engine(url)
        columns = {c["name"] for c in inspect(engine).get_columns("passkey")}
        unique = inspect(engine).get_unique_constraints("passkey")
        downgrade(directory=str(MIGRATIONS), revision="0010_recovery")
        after = inspect(create_engine(url)).get_table_names()
        engine.dispose()
        db.engine.dispose()
    assert {"credential_id", "public_key", "sign_count", "user_handle", "name", "backup_eligible", "backed_up",
            "created_at", "last_used_at", "account_id"} <= columns
    assert [u["column_names"] for u in unique] == [["credential_id"]]
    assert "passkey" not in after and "account" in after
