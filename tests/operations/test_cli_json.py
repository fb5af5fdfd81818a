"""``--json``: every command that offers it prints exactly one JSON document on stdout and nothing
else there (progress, warnings and logs go to stderr), so that ``idp ... --json | jq`` works.
A record or a report is an object; a listing is an array of objects."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from idp.cli import main

from ..support.cli import leaf_commands, run
from ..support.factories import make_account, make_client
from ..support.lifecycle import OFFICER_PASSWORD, make_office, make_officer
from ..support.registration import initial_token

# command -> (arguments before --json, the JSON type it prints)
JSON_COMMANDS = {
    "clients add": (["--name", "Szkript", "--redirect-uri", "https://szkript.example.hu/cb"], dict),
    "clients list": ([], list),
    "clients show": (["{client_id}"], dict),
    "clients initial-token": (["--agency", "Nemzeti Adó- és Vámhivatal", "--uses", "2"], dict),
    "clients rotate-secret": (["{client_id}"], dict),
    "clients approve": (["{client_id}", "--scope", "natural_identity"], dict),
    "clients suspend": (["{client_id}"], dict),
    "clients resume": (["{client_id}"], dict),
    "clients remove": (["{client_id}"], dict),
    "keys rotate": ([], dict),
    "citizens add-test": (["--username", "szkript.elek", "--password", "alma-korte-szilva-42"], dict),
    "offices add": (["--code", "SZKRIPT-01", "--name", "Szkript Kormányablak"], dict),
    "offices list": ([], list),
    "officers add": (["--office", "{office}", "--username", "szkript.ugyintezo", "--name", "Szkript Ügyintéző",
                      "--password", OFFICER_PASSWORD], dict),
    "officers reset-totp": (["--username", "{officer}"], dict),
    "officers list": ([], list),
    "jobs run": (["--as-of", "{in_a_week}"], dict),
    "audit list": ([], list),
    "keys list": ([], list),
}


def test_every_command_with_json_is_checked_here():
    offered = {path for path, command in leaf_commands(main.commands.values()).items()
               if any(param.name == "as_json" for param in command.params)}
    assert offered == set(JSON_COMMANDS)


@pytest.fixture
def world(rt):
    """Something for every command to print: a client, an office with an officer, an audited initial
    access token, an account whose validity reminder is due within the week (so ``jobs run`` has
    items and progress to report)."""
    office = make_office(rt)
    officer = make_officer(rt, office).officer
    make_account(rt, valid_for=timedelta(days=25))
    client, _secret = make_client(rt)
    initial_token(rt)
    return {
        "client_id": client.client_id,
        "office": office.code,
        "officer": officer.username,
        "in_a_week": (rt.now() + timedelta(days=7)).date().isoformat(),
    }


@pytest.mark.parametrize("command", sorted(JSON_COMMANDS))
def test_json_prints_one_document_and_nothing_else_on_stdout(app, world, command, tmp_path):
    args, kind = JSON_COMMANDS[command]
    if command == "keys rotate":
        rt = app.extensions["idp"]
        rt.keyring.directory = tmp_path  # rotate a copy, not the session's shared keys
        rt.keyring.ensure(rt.now())
    result = run(app, *command.split(), *[arg.format(**world) for arg in args], "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)  # refuses anything before or after one document
    assert isinstance(document, kind)
    assert document, "the world fixture gives every command something to print"
    if kind is list:
        assert all(isinstance(row, dict) for row in document)


def test_a_refused_json_command_prints_nothing_on_stdout(app):
    result = run(app, "clients", "show", "no-such-client", "--json")
    assert result.exit_code == 1
    assert result.stdout == "" and "no client no-such-client" in result.stderr
