"""``idp demo``: the provider with a demo office, citizen and two agencies, from a fresh checkout
(SQLite, generated secrets and keys; never for real citizens)."""

from __future__ import annotations

import click

from idp.demo.run import run_demo


@click.command("demo")
@click.option("--port", default=5000, show_default=True, type=int, help="Port of the provider; agencies use the next two.")
@click.option("--instance", default="instance/demo", show_default=True, help="Folder for the demo database and secrets.")
def demo_command(port, instance):
    """Run the provider with a demo office, citizen and two agencies (SQLite, generated keys)."""
    run_demo(port=port, instance=instance)
