"""``idp officers``: registration officers, who sign in to the office console with a password
and TOTP. Their TOTP secrets are printed once and stored sealed."""

from __future__ import annotations

from urllib.parse import urlsplit

import click
from flask.cli import with_appcontext

from idp.accounts.errors import AccountError
from idp.audit import OPERATOR, Actor, record
from idp.cli.options import emit, emit_json, runtime
from idp.extensions import db
from idp.offices.models import Office
from idp.offices.service import create_officer, find_office, find_officer, list_officers, reset_totp
from idp.runtime import Runtime


@click.group("officers", help="Registration officers (password and TOTP).")
def officers_cli():
    pass


@officers_cli.command("add")
@click.option("--office", "office_code", required=True, help="Code of the officer's office.")
@click.option("--username", required=True)
@click.option("--name", required=True, help="The officer's name, as shown in the office console and the audit trail.")
@click.option("--password", required=True, help="At least 15 characters, not a common password.")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def officers_add(office_code, username, name, password, as_json):
    """Create an officer; prints the TOTP secret and its otpauth:// URI once (they are stored sealed)."""
    rt = runtime()
    office = find_office(db.session, office_code)
    if office is None:
        raise click.ClickException("office_not_found")
    try:
        enrolment = create_officer(
            db.session, rt.passwords, rt.sealer, rt.now(), office, username, name, password, issuer=_totp_issuer(rt)
        )
    except AccountError as exc:
        raise click.ClickException(exc.reason) from None
    record(db.session, rt.now(), "officer_created", Actor(OPERATOR, "cli", office.id), officer=enrolment.officer.username)
    db.session.commit()
    out = {
        "office": office.code,
        "username": enrolment.officer.username,
        "name": enrolment.officer.display_name,
        "totp_secret": enrolment.totp_secret,
        "otpauth_uri": enrolment.provisioning_uri,
    }
    emit(out, as_json)
    if not as_json:
        click.echo("The TOTP secret is shown only now: add it to the officer's authenticator app.")


@officers_cli.command("reset-totp")
@click.option("--username", required=True)
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def officers_reset_totp(username, as_json):
    """A new TOTP secret for an officer (lost phone, or server.secret_key rotated); printed once."""
    rt = runtime()
    officer = find_officer(db.session, username)
    if officer is None:
        raise click.ClickException("officer_not_found")
    enrolment = reset_totp(db.session, rt.sealer, officer, issuer=_totp_issuer(rt))
    record(db.session, rt.now(), "officer_totp_reset", Actor(OPERATOR, "cli", officer.office_id), officer=officer.username)
    db.session.commit()
    emit({"username": officer.username, "totp_secret": enrolment.totp_secret, "otpauth_uri": enrolment.provisioning_uri},
         as_json)


def _totp_issuer(rt: Runtime) -> str:
    return f"Ügyfélkapu ({urlsplit(rt.issuer).hostname})"


@officers_cli.command("list")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def officers_list(as_json):
    codes = {o.id: o.code for o in db.session.query(Office)}
    rows = [
        {"office": codes.get(o.office_id), "username": o.username, "name": o.display_name, "active": o.active}
        for o in list_officers(db.session)
    ]
    if as_json:
        emit_json(rows)
        return
    for row in rows:
        click.echo(f"{row['office']:12} {row['username']:20} {row['name']}{'' if row['active'] else '  (inactive)'}")
