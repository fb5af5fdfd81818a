"""The ``idp`` command (also ``flask --app idp ...``): serve, demo, database, clients, citizens,
offices, officers, jobs, audit, keys, config. One module per command group; what they share is
in ``options``.

Configuration comes from ``--config FILE`` or ``IDP_CONFIG`` and the environment.
"""

from __future__ import annotations

import os

import click
from flask import Flask
from flask.cli import FlaskGroup, NoAppException

from idp.cli.audit import audit_cli
from idp.cli.citizens import citizens_cli
from idp.cli.clients import clients_cli
from idp.cli.config import config_cli
from idp.cli.demo import demo_command
from idp.cli.jobs import jobs_cli
from idp.cli.keys import keys_cli
from idp.cli.offices import offices_cli
from idp.cli.officers import officers_cli
from idp.cli.serve import serve_command
from idp.settings import SettingsError


def register_commands(app: Flask) -> None:
    app.cli.add_command(clients_cli)
    app.cli.add_command(citizens_cli)
    app.cli.add_command(offices_cli)
    app.cli.add_command(officers_cli)
    app.cli.add_command(jobs_cli)
    app.cli.add_command(audit_cli)
    app.cli.add_command(keys_cli)
    app.cli.add_command(serve_command)


def _set_config(ctx, param, value):
    if value:
        os.environ["IDP_CONFIG"] = value
    return value


def _create_app():
    from idp.app import create_app

    try:
        return create_app()
    except SettingsError as exc:
        raise NoAppException(f"configuration error: {exc}") from None


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=False, load_dotenv=False, set_debug_flag=False)
@click.option("--config", expose_value=False, is_eager=True, callback=_set_config, help="TOML configuration file (or IDP_CONFIG).")
def main():
    """Ügyfélkapu identity provider."""


main.add_command(config_cli)
main.add_command(demo_command)
