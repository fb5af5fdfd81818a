"""Structure that must not drift: migrations match the models, layers point one way,
and nothing secret reaches a log."""

from __future__ import annotations

import logging
import shutil
import subprocess
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from idp.storage import Base

from .support.factories import make_account, make_client
from .support.flows import Agency, Citizen

ROOT = Path(__file__).resolve().parent.parent


def test_migrations_build_exactly_the_models_schema(app, db):
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), Base.metadata)
    assert diff == [], "models changed without a migration: run `idp db migrate -d idp/migrations`"


@pytest.mark.skipif(shutil.which("lint-imports") is None and not (ROOT / ".venv/bin/lint-imports").exists(),
                    reason="import-linter is not installed")
def test_dependencies_point_one_way():
    exe = shutil.which("lint-imports") or str(ROOT / ".venv/bin/lint-imports")
    proc = subprocess.run([exe], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_no_token_code_or_secret_reaches_the_logs(client, rt, caplog):
    caplog.set_level(logging.DEBUG)
    logging.getLogger("authlib").setLevel(logging.INFO)  # as create_app sets it
    citizen = Citizen(client, rt, make_account(rt))
    c, secret = make_client(rt)
    agency = Agency(client, c, secret)
    response = citizen.sign_in(next_url=None)
    assert response.status_code == 303
    code = agency.get_code()
    tokens = agency.exchange(code).get_json()
    agency.userinfo(tokens["access_token"])
    agency.refresh(tokens["refresh_token"])
    text = "\n".join(r.getMessage() for r in caplog.records)
    for value in (secret, code, tokens["access_token"], tokens["refresh_token"], tokens["id_token"], citizen.password):
        assert value not in text
    assert logging.getLogger("authlib").getEffectiveLevel() >= logging.INFO
