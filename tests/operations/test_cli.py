"""The operator's ``idp`` command: clients, test citizens, keys, database, configuration; the same
commands under ``flask --app idp``; the README's table of them."""

from __future__ import annotations

import json
import os
import pkgutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from idp.accounts.service import find_by_username
from idp.cli import COMMANDS, main
from idp.clients.service import find
from idp.security.secrets import digest

from ..support.cli import leaf_commands, run

ROOT = Path(__file__).resolve().parents[2]


def test_clients_add_prints_the_secret_once_and_stores_only_its_hash(app, db):
    result = run(app, "clients", "add", "--name", "Demo NAV", "--redirect-uri", "https://nav.example.hu/cb",
                 "--post-logout-redirect-uri", "https://nav.example.hu/", "--scope", "openid", "--scope", "email", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    client = find(db.session, out["client_id"])
    assert client.secret_digest == digest(out["client_secret"])
    assert out["client_secret"] not in json.dumps(client.client_metadata)
    assert client.allowed_scopes == "openid email"
    shown = json.loads(run(app, "clients", "show", out["client_id"], "--json").output)
    assert "client_secret" not in shown
    assert out["client_id"] in run(app, "clients", "list").output


def test_a_public_client_has_no_secret(app):
    result = run(app, "clients", "add", "--name", "SPA", "--redirect-uri", "https://spa.example.hu/cb", "--public", "--json")
    out = json.loads(result.output)
    assert "client_secret" not in out and out["token_endpoint_auth_method"] == "none"


def test_bad_client_metadata_is_refused_with_the_reason(app):
    result = run(app, "clients", "add", "--name", "X", "--redirect-uri", "http://evil.example/cb")
    assert result.exit_code != 0 and "invalid_redirect_uri" in result.output
    result = run(app, "clients", "add", "--name", "X", "--redirect-uri", "https://a.example/cb#frag")
    assert result.exit_code != 0 and "invalid_redirect_uri" in result.output
    result = run(app, "clients", "add", "--name", "X", "--redirect-uri", "https://a.example/cb", "--auth-method", "private_key_jwt")
    assert result.exit_code != 0 and "invalid_client_metadata" in result.output


def test_clients_remove(app, db):
    out = json.loads(run(app, "clients", "add", "--name", "Gone", "--redirect-uri", "https://g.example/cb", "--json").output)
    assert run(app, "clients", "remove", out["client_id"]).exit_code == 0
    assert find(db.session, out["client_id"]) is None
    assert run(app, "clients", "remove", out["client_id"]).exit_code != 0


def test_add_test_citizen_creates_an_active_marked_test_account(app, db):
    result = run(app, "citizens", "add-test", "--username", "teszt.elek", "--password", "alma-korte-szilva-42", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["test_account"] is True
    account = find_by_username(db.session, "Teszt.Elek")
    assert account.is_test and account.state == "active" and not account.must_change_password
    again = run(app, "citizens", "add-test", "--username", "TESZT.ELEK", "--password", "alma-korte-szilva-42")
    assert again.exit_code != 0 and "username_taken" in again.output
    weak = run(app, "citizens", "add-test", "--username", "masik", "--password", "short")
    assert weak.exit_code != 0 and "password_too_short" in weak.output


def test_keys_rotate_and_list(app, tmp_path):
    rt = app.extensions["idp"]
    rt.keyring.directory = tmp_path  # rotate a copy, not the session's shared keys
    rt.keyring.ensure(rt.now())
    before = {k["kid"] for k in json.loads(run(app, "keys", "list", "--json").output)}
    assert run(app, "keys", "rotate").exit_code == 0
    rows = json.loads(run(app, "keys", "list", "--json").output)
    assert {r["status"] for r in rows if r["kid"] in before} == {"previous"}
    assert len([r for r in rows if r["status"] == "current"]) == 3


def test_config_example_needs_no_configuration():
    result = CliRunner().invoke(main, ["config", "example"], env={"IDP_CONFIG": ""})
    assert result.exit_code == 0 and "[server]" in result.output


def test_a_bad_configuration_is_reported_by_key(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text('[server]\nissuer = "http://idp.example.hu"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
    proc = subprocess.run([sys.executable, "-m", "idp.cli", "--config", str(config), "clients", "list"],
                          capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode != 0
    assert "server.issuer" in proc.stderr


def _environment(**values: str) -> dict:
    """This process's environment without its IDP_ settings, with ``values``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
    env.update(values)
    return env


def _fresh_installation(tmp_path, keys_dir) -> dict:
    return _environment(
        IDP_SERVER_ISSUER="http://127.0.0.1:5000", IDP_SERVER_DEVELOPMENT="true", IDP_SERVER_SECRET_KEY="k" * 40,
        IDP_KEYS_PASSPHRASE="test-passphrase-0123456789", IDP_KEYS_DIR=str(keys_dir),
        IDP_SECURITY_PAIRWISE_SECRET="s" * 40, IDP_DATABASE_URL=f"sqlite:///{tmp_path / 'fresh.sqlite3'}",
    )


def test_db_upgrade_builds_the_schema_from_nothing(tmp_path, keys_dir):
    env = _fresh_installation(tmp_path, keys_dir)
    proc = subprocess.run([sys.executable, "-m", "idp.cli", "db", "upgrade"], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    proc = subprocess.run([sys.executable, "-m", "idp.cli", "clients", "list", "--json"],
                          capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []  # stdout holds the JSON alone, in a real process too


def test_a_configuration_error_prints_only_itself_naming_the_key():
    proc = subprocess.run([sys.executable, "-m", "idp.cli", "db", "upgrade"], capture_output=True, text=True,
                          env=_environment(IDP_SERVER_ISSUER="ftp://x"), timeout=60)
    assert proc.returncode == 2
    assert proc.stdout == ""
    (line,) = proc.stderr.splitlines()  # no usage text, no traceback, no "No such command 'db'"
    assert line.startswith("configuration error: server.issuer: ")


@pytest.mark.parametrize("args", [["db", "upgrade"], ["clients", "list", "--json"], ["jobs", "run", "--dry-run"]],
                         ids=["db_upgrade", "clients_list_json", "jobs_run"])
def test_a_configuration_error_is_one_line_for_every_command_needing_the_application(args):
    env = {name: None for name in os.environ if name.startswith("IDP_")} | {"IDP_SERVER_ISSUER": "ftp://x"}
    result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code == 2
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("configuration error: server.issuer: ")


def test_flask_app_idp_runs_the_same_commands(tmp_path, keys_dir):
    env = _fresh_installation(tmp_path, keys_dir)
    flask = [sys.executable, "-m", "flask", "--app", "idp"]
    proc = subprocess.run([*flask, "db", "upgrade"], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    proc = subprocess.run([*flask, "clients", "list", "--json"], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, f"{proc.stderr}\n(the flask.commands entry points are installed by ./dev setup)"
    assert json.loads(proc.stdout) == []


def test_pyproject_gives_flask_the_commands_idp_has():
    table = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]["entry-points"]["flask.commands"]
    assert {name: pkgutil.resolve_name(target) for name, target in table.items()} == {c.name: c for c in COMMANDS}
    assert set(main.commands) == set(table) | {"db"}  # db: Flask-Migrate's, on every application's app.cli


def test_readme_names_every_command():
    readme = (ROOT / "README.md").read_text("utf-8")
    assert [path for path in leaf_commands(COMMANDS) if f"idp {path}" not in readme] == []
    assert "idp db upgrade" in readme
