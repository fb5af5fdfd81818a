"""``idp offices``: the registering offices (okmányiroda, kormányablak) whose officers verify
registrations in person."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from idp.accounts.errors import AccountError
from idp.cli.options import emit, emit_json, runtime
from idp.extensions import db
from idp.offices.service import create_office, list_offices


@click.group("offices", help="Registering offices (okmányiroda, kormányablak).")
def offices_cli():
    pass


def _office_view(office) -> dict:
    return {"code": office.code, "name": office.name, "address": office.address, "created_at": office.created_at.isoformat()}


@offices_cli.command("add")
@click.option("--code", required=True, help="Short unique code, e.g. BP-XI-01 (letters, digits, - and _).")
@click.option("--name", required=True)
@click.option("--address", default="")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def offices_add(code, name, address, as_json):
    try:
        office = create_office(db.session, runtime().now(), code, name, address)
    except AccountError as exc:
        raise click.ClickException(exc.reason) from None
    db.session.commit()
    emit(_office_view(office), as_json)


@offices_cli.command("list")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def offices_list(as_json):
    rows = [_office_view(o) for o in list_offices(db.session)]
    if as_json:
        emit_json(rows)
        return
    for row in rows:
        click.echo(f"{row['code']:12} {row['name']}  {row['address']}".rstrip())
