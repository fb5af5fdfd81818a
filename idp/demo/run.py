"""``idp demo``: SQLite, generated secrets and keys, demo data, the provider and two agencies, a demo
officer for the office console, and the mail outbox shown on the provider."""

from __future__ import annotations

import json
import os
import secrets
import sys
import threading
from pathlib import Path

from flask_migrate import upgrade

from idp.app import MIGRATIONS, check_keys, create_app
from idp import logs
from idp.serving import run_server
from idp.settings import build_settings

from . import outbox
from .agency import create_agency_app
from .seed import (
    AGENCIES, DEMO_OFFICE_CODE, DEMO_OFFICER_PASSWORD, DEMO_OFFICER_USERNAME, DEMO_PASSWORD, DEMO_USERNAME, seed,
)


def _load_secrets(folder: Path) -> dict:
    path = folder / "secrets.json"
    if path.exists():
        return json.loads(path.read_text("utf-8"))
    return {
        "secret_key": secrets.token_urlsafe(48),
        "keys_passphrase": secrets.token_urlsafe(32),
        "pairwise_secret": secrets.token_urlsafe(48),
    }


def _save_secrets(folder: Path, data: dict) -> None:
    path = folder / "secrets.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=2)


def demo_settings(port: int, folder: Path, store: dict):
    return build_settings(
        {
            "server": {
                "issuer": f"http://127.0.0.1:{port}",
                "development": True,
                "secret_key": store["secret_key"],
            },
            "database": {"url": f"sqlite:///{(folder / 'idp.sqlite3').resolve()}"},
            "keys": {"dir": "keys", "passphrase": store["keys_passphrase"]},
            "security": {"pairwise_secret": store["pairwise_secret"]},
            # The demo office stands as the registering office of electronic registrations (rule 9).
            "policy": {"electronic_registration_office": DEMO_OFFICE_CODE},
            # No mail server needed: mail is written to the outbox, which /demo/outbox/ shows.
            "mail": {"backend": "outbox", "outbox_dir": str((folder / "outbox").resolve())},
            # Logs for a person at a terminal, not for a collector.
            "logging": {"format": "console"},
        }
    ).validate()


def run_demo(port: int = 5000, instance: str = "instance/demo") -> None:
    folder = Path(instance)
    folder.mkdir(parents=True, exist_ok=True)
    store = _load_secrets(folder)
    settings = demo_settings(port, folder, store)
    logs.configure(settings.logging)
    app = create_app(settings)
    outbox.init_app(app)  # the demo's alone: production apps never show the outbox
    issuer = settings.server.issuer
    agency_base = {key: f"http://127.0.0.1:{port + i + 1}" for i, (key, _n, _c) in enumerate(AGENCIES)}
    with app.app_context():
        upgrade(directory=str(MIGRATIONS))
        check_keys(app)
        seed(app.extensions["idp"], store, agency_base)
    logs.configure(settings.logging)  # again: the migrations' logging.ini replaced the root handler
    _save_secrets(folder, store)

    for i, (key, name, color) in enumerate(AGENCIES):
        creds = store["clients"][key]
        agency = create_agency_app(
            title=name,
            color=color,
            issuer=issuer,
            client_id=creds["client_id"],
            client_secret=creds["client_secret"],
            base_url=agency_base[key],
            cookie=f"{key}_session",
        )
        threading.Thread(target=run_server, args=(agency, "127.0.0.1", port + i + 1), daemon=True).start()

    officer = store["officer"]
    bar = "=" * 72
    print(
        f"\n{bar}\nDEMO MODE: development settings, generated secrets in {folder}/secrets.json,\n"
        f"generated signing keys in {settings.keys.dir}/. Never use this for real citizens.\n{bar}\n"
        f"Provider:        {issuer}/\n"
        f"Agency 1:        {agency_base['agency1']}/   ({AGENCIES[0][1]})\n"
        f"Agency 2:        {agency_base['agency2']}/   ({AGENCIES[1][1]})\n"
        f"Demo citizen:    username {DEMO_USERNAME}   password {DEMO_PASSWORD}\n"
        f"Register:        {issuer}/register   (then verify at the office console)\n"
        f"Office console:  {issuer}/office/\n"
        f"  Demo officer:  username {DEMO_OFFICER_USERNAME}   password {DEMO_OFFICER_PASSWORD}\n"
        f"  TOTP secret:   {officer['totp_secret']}\n"
        f"  otpauth URI:   {officer['otpauth_uri']}\n"
        f"  current code:  {sys.executable} -c \"import pyotp; print(pyotp.TOTP('{officer['totp_secret']}').now())\"\n"
        f"Mail outbox:     {issuer}/demo/outbox/   (demo only: every mail sent, activation codes included)\n"
        f"Discovery:       {issuer}/.well-known/openid-configuration\n{bar}\n",
        flush=True,
    )
    run_server(app, "127.0.0.1", port)
