"""``idp serve``: the built-in threaded server (gunicorn in production: see README)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from idp import logs
from idp.app import check_keys
from idp.serving import run_server


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@with_appcontext
def serve_command(host, port):
    """Serve with the built-in threaded server (use gunicorn in production: see README)."""
    app = current_app._get_current_object()
    logs.configure(app.extensions["idp"].settings.logging)
    check_keys(app)
    run_server(app, host, port)
