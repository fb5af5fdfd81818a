"""``idp keys``: the signing keys, one current key per algorithm; previous keys stay published
until the tokens they signed have expired."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from idp.cli.options import emit_json, runtime


@click.group("keys", help="Signing keys.")
def keys_cli():
    pass


@keys_cli.command("rotate")
@click.option("--json", "as_json", is_flag=True, help='Print one JSON object: {"keys": [{"alg", "kid"}, ...]}.')
@with_appcontext
def keys_rotate(as_json):
    """Add a new current key per algorithm; previous keys stay published until tokens they signed expire."""
    rt = runtime()
    added = rt.keyring.rotate(rt.now())
    if as_json:
        emit_json({"keys": [{"alg": info.alg, "kid": info.kid} for info in added]})
        return
    for info in added:
        click.echo(f"new {info.alg} key {info.kid}")


@keys_cli.command("list")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def keys_list(as_json):
    rt = runtime()
    published = {i.kid for i in rt.keyring.published(rt.now())} if rt.keyring.list() else set()
    rows = [
        {
            "kid": i.kid,
            "alg": i.alg,
            "created_at": i.created_at.isoformat(),
            "status": "current" if i.retired_at is None else ("previous" if i.kid in published else "expired"),
            "retired_at": i.retired_at.isoformat() if i.retired_at else None,
        }
        for i in rt.keyring.list()
    ]
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        click.echo(f"{r['kid']}  {r['alg']:6} {r['status']:8} created {r['created_at']}")
