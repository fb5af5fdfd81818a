"""The ``idp`` command: serve, demo, database, clients, citizens, offices, officers, jobs, audit,
keys, config. One module per command group; what they share is in ``options``.

Configuration comes from ``--config FILE`` or ``IDP_CONFIG`` and the environment. The application
factory knows nothing of the commands: ``idp`` builds the application with ``create_app`` and
carries the commands itself, and ``flask --app idp <command>`` finds the same commands through
the ``flask.commands`` entry points of ``pyproject.toml``.
"""

from __future__ import annotations

import os

import click
from flask import Flask
from flask.cli import FlaskGroup, NoAppException
from flask_migrate.cli import db as migrations_cli

from idp.app import create_app
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

# The provider's own commands, as pyproject.toml's flask.commands entry points name them too.
COMMANDS = (
    audit_cli, citizens_cli, clients_cli, config_cli, demo_command, jobs_cli, keys_cli, offices_cli, officers_cli,
    serve_command,
)


def register_commands(group: click.Group) -> None:
    """Add the provider's commands to a click group: ``idp`` itself, or an application's ``app.cli``."""
    for command in COMMANDS:
        group.add_command(command)


class ConfigurationError(NoAppException):
    """A configuration the application factory refuses: one line on stderr naming the key, exit
    status 2, no usage text and no traceback."""

    exit_code = 2

    def __init__(self, error: SettingsError):
        super().__init__(f"configuration error: {error}")

    def show(self, file=None) -> None:
        click.echo(self.format_message(), file=file, err=True)


def _set_config(ctx, param, value):
    if value:
        os.environ["IDP_CONFIG"] = value
    return value


def _create_app() -> Flask:
    try:
        return create_app()
    except SettingsError as exc:
        raise ConfigurationError(exc) from None


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=False, load_dotenv=False, set_debug_flag=False)
@click.option("--config", expose_value=False, is_eager=True, callback=_set_config, help="TOML configuration file (or IDP_CONFIG).")
def main():
    """Ügyfélkapu identity provider."""


register_commands(main)
# Flask-Migrate's group, carried here too so that it is found before the application is built:
# a configuration error then names itself rather than making ``db`` an unknown command.
main.add_command(migrations_cli, "db")
