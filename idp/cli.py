"""The ``idp`` command (also ``flask --app idp ...``): serve, demo, database, clients, citizens,
offices, officers, jobs, audit, keys.

Configuration comes from ``--config FILE`` or ``IDP_CONFIG`` and the environment.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from datetime import date, timedelta

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, NoAppException, with_appcontext

from idp.serving import run_server
from idp.settings import SettingsError, example_toml


def _rt():
    return current_app.extensions["idp"]


def _emit(data: dict, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))
    else:
        for key, value in data.items():
            click.echo(f"{key}: {value}")


# -- clients -------------------------------------------------------------------


@click.group("clients", help="Agencies' OIDC clients.")
def clients_cli():
    pass


@clients_cli.command("add")
@click.option("--name", required=True, help="Name shown to citizens on sign-in and consent.")
@click.option("--agency", default="", help="The agency the client belongs to (defaults to --name).")
@click.option("--redirect-uri", "redirect_uris", multiple=True, required=True, help="Exact redirect URI (repeatable).")
@click.option("--post-logout-redirect-uri", "post_logout", multiple=True, help="Exact post-logout redirect URI (repeatable).")
@click.option("--scope", "scopes", multiple=True, help="Allowed scope (repeatable; default: openid profile email address).")
@click.option(
    "--auth-method",
    type=click.Choice(["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]),
    default="client_secret_basic",
    show_default=True,
)
@click.option("--public", is_flag=True, help="A public client (no secret; PKCE only). Same as --auth-method none.")
@click.option("--jwks-file", type=click.File("r"), help="The client's public JWK Set (for private_key_jwt).")
@click.option("--alg", "id_token_alg", type=click.Choice(["RS256", "ES256", "EdDSA"]), default="RS256", show_default=True)
@click.option("--subject-type", type=click.Choice(["pairwise", "public"]), default="pairwise", show_default=True)
@click.option("--sector-identifier-uri", default=None, help="Share one pairwise sub across several redirect hosts.")
@click.option("--backchannel-logout-uri", default=None)
@click.option("--no-refresh", is_flag=True, help="Do not issue refresh tokens to this client.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_appcontext
def clients_add(
    name, agency, redirect_uris, post_logout, scopes, auth_method, public, jwks_file, id_token_alg, subject_type,
    sector_identifier_uri, backchannel_logout_uri, no_refresh, as_json,
):
    """Register a client; prints its id and secret (the secret is shown once and stored hashed)."""
    from idp.clients import scopes as sc
    from idp.clients.metadata import ClientMetadata, MetadataError, validate
    from idp.clients.remote import Fetcher
    from idp.clients.service import create_client
    from idp.extensions import db

    rt = _rt()
    meta = ClientMetadata(
        name=name,
        agency=agency,
        redirect_uris=list(redirect_uris),
        post_logout_redirect_uris=list(post_logout),
        scopes=list(scopes) or list(sc.BASIC_SCOPES),
        token_endpoint_auth_method="none" if public else auth_method,
        grant_types=["authorization_code"] if no_refresh else ["authorization_code", "refresh_token"],
        id_token_signed_response_alg=id_token_alg,
        subject_type=subject_type,
        jwks=json.load(jwks_file) if jwks_file else None,
        sector_identifier_uri=sector_identifier_uri,
        backchannel_logout_uri=backchannel_logout_uri,
    )
    try:
        validate(
            meta, supported_algs=rt.keyring.supported_algorithms(), allow_loopback_http=True,
            fetcher=Fetcher(allow_loopback_http=rt.settings.server.development),
        )
    except MetadataError as exc:
        raise click.UsageError(f"{exc.error}: {exc.description}") from None
    client, secret = create_client(db.session, rt.now(), meta, created_via="cli")
    db.session.commit()
    out = _client_view(client)
    if secret:
        out["client_secret"] = secret
    _emit(out, as_json)


def _client_view(client) -> dict:
    return {
        "client_id": client.client_id,
        "client_name": client.name,
        "agency": client.agency,
        "status": client.status,
        "token_endpoint_auth_method": client.token_endpoint_auth_method,
        "redirect_uris": client.redirect_uris,
        "post_logout_redirect_uris": client.post_logout_redirect_uris,
        "grant_types": client.grant_types,
        "scope": client.allowed_scopes,
        "pending_scopes": client.pending_scopes,
        "created_via": client.created_via,
        "id_token_signed_response_alg": client.id_token_signed_response_alg,
        "subject_type": client.subject_type,
        "sector_identifier": client.sector_identifier,
        "created_at": client.created_at.isoformat(),
    }


@clients_cli.command("list")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def clients_list(as_json):
    from idp.clients.service import list_clients
    from idp.extensions import db

    rows = [_client_view(c) for c in list_clients(db.session)]
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    for row in rows:
        click.echo(f"{row['client_id']}  {row['status']:9}  {row['client_name']}  {' '.join(row['redirect_uris'])}")


@clients_cli.command("show")
@click.argument("client_id")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def clients_show(client_id, as_json):
    _emit(_client_view(_client_or_fail(client_id)), as_json)


def _client_or_fail(client_id: str):
    from idp.clients.service import find
    from idp.extensions import db

    client = find(db.session, client_id)
    if client is None:
        raise click.ClickException(f"no client {client_id}")
    return client


def _duration(value: str) -> timedelta:
    """``7d``, ``12h``, ``30m`` or ``3600s``."""
    units = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}
    number, unit = value[:-1], value[-1:]
    if unit not in units or not (number.isascii() and number.isdigit()) or len(number) > 6:
        raise click.BadParameter(f"{value!r}: expected a number and d, h, m or s, e.g. 7d")
    return timedelta(**{units[unit]: int(number)})


def _client_error(exc) -> click.ClickException:
    return click.ClickException(exc.reason)


@clients_cli.command("remove")
@click.argument("client_id")
@with_appcontext
def clients_remove(client_id):
    """Remove a client with its codes, tokens and consents."""
    from idp.audit import OPERATOR_CLI
    from idp.clients.service import remove
    from idp.extensions import db

    remove(db.session, _client_or_fail(client_id), _rt().now(), OPERATOR_CLI)
    click.echo(f"removed {client_id}")


@clients_cli.command("initial-token")
@click.option("--agency", required=True, help="The agency whose integrator registers clients with the token.")
@click.option("--expires", "expires", default="7d", show_default=True, help="Lifetime: 7d, 12h, 30m…")
@click.option("--uses", default=1, show_default=True, type=click.IntRange(1, 1000), help="How many clients it may register.")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def clients_initial_token(agency, expires, uses, as_json):
    """Issue an initial access token for dynamic registration (RFC 7591); printed once, stored hashed."""
    from idp.clients.errors import ClientError
    from idp.clients.registration import issue_initial_token
    from idp.extensions import db
    from idp.oidc.discovery import ENDPOINTS

    rt = _rt()
    try:
        row, token = issue_initial_token(db.session, rt.now(), agency, lifetime=_duration(expires), max_uses=uses)
    except ClientError as exc:
        raise _client_error(exc) from None
    out = {
        "initial_access_token": token,
        "agency": row.agency,
        "expires_at": row.expires_at.isoformat(),
        "uses": row.max_uses,
        "registration_endpoint": rt.issuer + ENDPOINTS["registration_endpoint"],
    }
    _emit(out, as_json)


@clients_cli.command("approve")
@click.argument("client_id")
@click.option("--scope", required=True, help="The sensitive scope, e.g. natural_identity.")
@click.option("--refuse", is_flag=True, help="Refuse the request (or withdraw an approval) instead.")
@with_appcontext
def clients_approve(client_id, scope, refuse):
    """Approve (or refuse) a client's request for a sensitive scope."""
    from idp.audit import OPERATOR_CLI
    from idp.clients.errors import ClientError
    from idp.clients.service import decide_scope
    from idp.extensions import db

    client = _client_or_fail(client_id)
    try:
        decide_scope(db.session, client, scope, _rt().now(), OPERATOR_CLI, approve=not refuse)
    except ClientError as exc:
        raise _client_error(exc) from None
    click.echo(f"{'refused' if refuse else 'approved'} {scope} for {client_id}; scope now: {client.allowed_scopes}")


@clients_cli.command("suspend")
@click.argument("client_id")
@with_appcontext
def clients_suspend(client_id):
    """Suspend a client: authentication, sign-ins and its tokens stop working at once."""
    from idp.audit import OPERATOR_CLI
    from idp.clients.service import suspend
    from idp.extensions import db

    suspend(db.session, _client_or_fail(client_id), _rt().now(), OPERATOR_CLI)
    click.echo(f"suspended {client_id}")


@clients_cli.command("resume")
@click.argument("client_id")
@with_appcontext
def clients_resume(client_id):
    """End a suspension."""
    from idp.audit import OPERATOR_CLI
    from idp.clients.service import resume
    from idp.extensions import db

    resume(db.session, _client_or_fail(client_id), _rt().now(), OPERATOR_CLI)
    click.echo(f"resumed {client_id}")


@clients_cli.command("rotate-secret")
@click.argument("client_id")
@click.option("--grace", default="7d", show_default=True, help="How long the previous secret keeps working (at most 30d).")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def clients_rotate_secret(client_id, grace, as_json):
    """Give a client a new secret (printed once); the previous one works for the grace period."""
    from idp.audit import OPERATOR_CLI
    from idp.clients.errors import ClientError
    from idp.clients.service import rotate_secret
    from idp.extensions import db

    client = _client_or_fail(client_id)
    try:
        secret = rotate_secret(db.session, client, _rt().now(), OPERATOR_CLI, _duration(grace))
    except ClientError as exc:
        raise _client_error(exc) from None
    out = {"client_id": client.client_id, "client_secret": secret,
           "previous_secret_valid_until": client.previous_secret_expires_at.isoformat()}
    _emit(out, as_json)


# -- citizens ------------------------------------------------------------------


@click.group("citizens", help="Citizen accounts.")
def citizens_cli():
    pass


@citizens_cli.command("add-test")
@click.option("--username", required=True)
@click.option("--password", required=True, help="At least 15 characters, not a common password.")
@click.option("--family-name", default="Teszt")
@click.option("--given-name", default="Polgár")
@click.option("--email", default=None)
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def citizens_add_test(username, password, family_name, given_name, email, as_json):
    """An active, verified test citizen for agencies' integration environments (marked as a test account)."""
    from idp.accounts.errors import AccountError
    from idp.accounts.service import create_test_citizen
    from idp.extensions import db

    rt = _rt()
    data = test_person(username, family_name, given_name, email or f"{username}@teszt.invalid")
    try:
        account = create_test_citizen(
            db.session, rt.passwords, rt.now(), rt.policy, data, password,
            document_number=f"{secrets.randbelow(10**6):06d}TA",
        )
    except AccountError as exc:
        raise click.ClickException(exc.reason) from None
    db.session.commit()
    _emit(
        {
            "identifier": account.identifier,
            "username": account.username,
            "state": account.state.value,
            "test_account": True,
            "valid_until": account.valid_until.isoformat() if account.valid_until else None,
        },
        as_json,
    )


def test_person(username: str, family_name: str, given_name: str, email: str):
    """Plausible, unique placeholder data for a test citizen."""
    from idp.accounts.personal import Registration

    born = date(1960, 1, 1) + timedelta(days=secrets.randbelow(40 * 365))
    return Registration(
        username=username,
        family_name=family_name,
        given_name=given_name,
        birth_family_name=family_name,
        birth_given_name=given_name,
        mother_birth_family_name="Teszt",
        mother_birth_given_name=f"Anya {secrets.token_hex(3)}",
        birth_place="Budapest",
        birth_date=born,
        email=email,
        address_postal_code="1011",
        address_locality="Budapest",
        address_street="Teszt utca 1.",
    )


# -- offices and officers ------------------------------------------------------


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
    from idp.accounts.errors import AccountError
    from idp.extensions import db
    from idp.offices.service import create_office

    try:
        office = create_office(db.session, _rt().now(), code, name, address)
    except AccountError as exc:
        raise click.ClickException(exc.reason) from None
    db.session.commit()
    _emit(_office_view(office), as_json)


@offices_cli.command("list")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def offices_list(as_json):
    from idp.extensions import db
    from idp.offices.service import list_offices

    rows = [_office_view(o) for o in list_offices(db.session)]
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    for row in rows:
        click.echo(f"{row['code']:12} {row['name']}  {row['address']}".rstrip())


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
    from idp.accounts.errors import AccountError
    from idp.audit import OPERATOR, Actor, record
    from idp.extensions import db
    from idp.offices.service import create_officer, find_office

    rt = _rt()
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
    _emit(out, as_json)
    if not as_json:
        click.echo("The TOTP secret is shown only now: add it to the officer's authenticator app.")


@officers_cli.command("reset-totp")
@click.option("--username", required=True)
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def officers_reset_totp(username, as_json):
    """A new TOTP secret for an officer (lost phone, or server.secret_key rotated); printed once."""
    from idp.audit import OPERATOR, Actor, record
    from idp.extensions import db
    from idp.offices.service import find_officer, reset_totp

    rt = _rt()
    officer = find_officer(db.session, username)
    if officer is None:
        raise click.ClickException("officer_not_found")
    enrolment = reset_totp(db.session, rt.sealer, officer, issuer=_totp_issuer(rt))
    record(db.session, rt.now(), "officer_totp_reset", Actor(OPERATOR, "cli", officer.office_id), officer=officer.username)
    db.session.commit()
    _emit({"username": officer.username, "totp_secret": enrolment.totp_secret, "otpauth_uri": enrolment.provisioning_uri},
          as_json)


def _totp_issuer(rt) -> str:
    from urllib.parse import urlsplit

    return f"Ügyfélkapu ({urlsplit(rt.issuer).hostname})"


@officers_cli.command("list")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def officers_list(as_json):
    from idp.extensions import db
    from idp.offices.models import Office
    from idp.offices.service import list_officers

    codes = {o.id: o.code for o in db.session.query(Office)}
    rows = [
        {"office": codes.get(o.office_id), "username": o.username, "name": o.display_name, "active": o.active}
        for o in list_officers(db.session)
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    for row in rows:
        click.echo(f"{row['office']:12} {row['username']:20} {row['name']}{'' if row['active'] else '  (inactive)'}")


# -- scheduled jobs and the audit trail ----------------------------------------


def _moment(value: str | None):
    """``--as-of``/``--since``: a date (00:00 UTC that day) or an ISO datetime (UTC when no zone)."""
    from datetime import UTC, datetime

    if not value:
        return None
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), datetime.min.time(), tzinfo=UTC)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r}: expected YYYY-MM-DD or an ISO datetime") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@click.group("jobs", help="Scheduled jobs: reminders, lapse of registrations, expiry of accounts.")
def jobs_cli():
    pass


@jobs_cli.command("run")
@click.option("--as-of", "as_of", default=None, help="Run as at this date (00:00 UTC) or ISO datetime instead of now.")
@click.option("--dry-run", is_flag=True, help="List what would change, change nothing, send nothing.")
@click.option("--batch-size", default=200, show_default=True, type=click.IntRange(1, 10000))
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@with_appcontext
def jobs_run(as_of, dry_run, batch_size, as_json):
    """Send due reminders (each once), lapse registrations not activated or verified in time, and
    end accounts whose validity ended (erasing their personal data). Safe on several instances at once."""
    from idp.extensions import db
    from idp.lifecycle.context import Links
    from idp.lifecycle.jobs import run_jobs

    rt = _rt()
    now = _moment(as_of) or rt.now()
    say = (lambda line: None) if as_json else (lambda line: click.echo(f"… {line}", err=True))
    if not as_json:
        click.echo(f"jobs as of {now.isoformat()}{' (dry run: nothing changes)' if dry_run else ''}")
    report = run_jobs(
        db.session, now, rt.policy, rt.mailer, links=Links.under(rt.issuer), dry_run=dry_run, progress=say,
        batch_size=batch_size, logout=rt.logout,
    )
    if as_json:
        out = report.summary()
        out["items"] = [vars(i) for i in report.items]
        out["failed_items"] = [vars(i) for i in report.failed]
        click.echo(json.dumps(out, indent=2, ensure_ascii=False))
        return
    for item in report.items:
        click.echo(("would " if dry_run else "") + item.line())
    for item in report.failed:
        click.echo("FAILED  " + item.line())
    summary = report.summary()
    verb = "would be " if dry_run else ""
    click.echo(
        f"{summary['reminders']} reminder(s) {verb}sent, {summary['lapsed']} registration(s) {verb}lapsed, "
        f"{summary['expired']} account(s) {verb}expired; {summary['skipped']} taken by another run, "
        f"{summary['failed']} failed"
    )
    if report.logout:
        click.echo("back-channel logout: " + ", ".join(f"{n} {outcome}" for outcome, n in sorted(report.logout.items())))
    if report.failed:
        raise click.exceptions.Exit(1)


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
    from sqlalchemy import select

    from idp.accounts.models import Account
    from idp.audit import events
    from idp.extensions import db
    from idp.offices.models import Office

    account_id = None
    if identifier:
        account_id = db.session.scalar(select(Account.id).where(Account.identifier == identifier.strip().upper()))
        if account_id is None:
            raise click.ClickException("account_not_found")
    rows = events(db.session, account_id=account_id, event=event, since=_moment(since), limit=limit)
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
        click.echo(json.dumps(out, indent=2, ensure_ascii=False))
        return
    for row in out:
        details = json.dumps(row["details"], ensure_ascii=False, sort_keys=True) if row["details"] else ""
        click.echo(f"{row['at']}  {row['event']:24} {row['actor']:28} {row['office'] or '-':10} {row['account'] or '-':19} {details}")


# -- keys ----------------------------------------------------------------------


@click.group("keys", help="Signing keys.")
def keys_cli():
    pass


@keys_cli.command("rotate")
@with_appcontext
def keys_rotate():
    """Add a new current key per algorithm; previous keys stay published until tokens they signed expire."""
    rt = _rt()
    for info in rt.keyring.rotate(rt.now()):
        click.echo(f"new {info.alg} key {info.kid}")


@keys_cli.command("list")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def keys_list(as_json):
    rt = _rt()
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
        click.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        click.echo(f"{r['kid']}  {r['alg']:6} {r['status']:8} created {r['created_at']}")


# -- serving -------------------------------------------------------------------


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@with_appcontext
def serve(host, port):
    """Serve with the built-in threaded server (use gunicorn in production: see README)."""
    from idp.app import check_keys

    app = current_app._get_current_object()
    check_keys(app)
    run_server(app, host, port)


def register_commands(app: Flask) -> None:
    app.cli.add_command(clients_cli)
    app.cli.add_command(citizens_cli)
    app.cli.add_command(offices_cli)
    app.cli.add_command(officers_cli)
    app.cli.add_command(jobs_cli)
    app.cli.add_command(audit_cli)
    app.cli.add_command(keys_cli)
    app.cli.add_command(serve)


# -- the top-level command -----------------------------------------------------


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


@main.group("config", cls=click.Group, help="Configuration.")
def config_cli():
    pass


@config_cli.command("example")
def config_example():
    """Print the documented example configuration (what config.example.toml holds)."""
    click.echo(example_toml(), nl=False)


@main.command("demo", with_appcontext=False)
@click.option("--port", default=5000, show_default=True, type=int, help="Port of the provider; agencies use the next two.")
@click.option("--instance", default="instance/demo", show_default=True, help="Folder for the demo database and secrets.")
def demo(port, instance):
    """Run the provider with a demo office, citizen and two agencies (SQLite, generated keys)."""
    from idp.demo.run import run_demo

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    run_demo(port=port, instance=instance)


if __name__ == "__main__":
    main()
