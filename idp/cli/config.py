"""``idp config``: the configuration, documented at its fields (needs no configuration itself)."""

from __future__ import annotations

import click

from idp.settings import example_toml


@click.group("config", help="Configuration.")
def config_cli():
    pass


@config_cli.command("example")
def config_example():
    """Print the documented example configuration (what config.example.toml holds)."""
    click.echo(example_toml(), nl=False)
