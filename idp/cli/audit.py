"""``idp audit list``: the append-only audit trail of lifecycle events, newest first."""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from idp.accounts.models import Account
from idp.audit import events
from idp.cli.options import emit_json, moment
from idp.extensions import db
from idp.offices.models import Office


@click.group("audit", help="The append-only audit trail of lifecycle events.")
def audit_cli():
    pass


@audit_cli.command("list")
@click.option("--account", "identifier", default=None, help="Only this account (its identifier, UK-...).")
@click.option("--event", default=None, help="Only this event, e.g. data_changed.")
@click.option("--since", default=None, help="From this date (00:00 UTC) or ISO datetime.")
@click.option("--limit", default=200, show_default=True, type=click.IntRange(1, 100000))
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def audit_list(identifier, event, since, limit, as_json):
    """Newest first."""
    account_id = None
    if identifier:
        account_id = db.session.scalar(select(Account.id).where(Account.identifier == identifier.strip().upper()))
        if account_id is None:
            raise click.ClickException("account_not_found")
    rows = events(db.session, account_id=account_id, event=event, since=moment(since), limit=limit)
    wanted = {r.account_id for r in rows}
    identifiers = dict(db.session.execute(select(Account.id, Account.identifier).where(Account.id.in_(wanted))).all())
    offices = dict(db.session.execute(select(Office.id, Office.code)).all())
    out = [
        {
            "at": r.at.isoformat(),
            "event": r.event,
            "actor": f"{r.actor_kind}:{r.actor}" if r.actor else r.actor_kind,
            "office": offices.get(r.office_id),
            "account": identifiers.get(r.account_id),
            "details": r.details,
        }
        for r in rows
    ]
    if as_json:
        emit_json(out)
        return
    for row in out:
        details = json.dumps(row["details"], ensure_ascii=False, sort_keys=True) if row["details"] else ""
        click.echo(f"{row['at']}  {row['event']:24} {row['actor']:28} {row['office'] or '-':10} {row['account'] or '-':19} {details}")
