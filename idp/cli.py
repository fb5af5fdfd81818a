"""The ``idp`` command (also ``flask --app idp ...``): serve, demo, database, clients, citizens, keys.

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
        validate(meta, supported_algs=rt.keyring.supported_algorithms(), allow_loopback_http=True)
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
    from idp.clients.service import find
    from idp.extensions import db

    client = find(db.session, client_id)
    if client is None:
        raise click.ClickException(f"no client {client_id}")
    _emit(_client_view(client), as_json)


@clients_cli.command("remove")
@click.argument("client_id")
@with_appcontext
def clients_remove(client_id):
    """Remove a client with its codes, tokens and consents."""
    from idp.clients.service import find, remove
    from idp.extensions import db

    client = find(db.session, client_id)
    if client is None:
        raise click.ClickException(f"no client {client_id}")
    remove(db.session, client)
    db.session.commit()
    click.echo(f"removed {client_id}")


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
    data = test_person(family_name, given_name, email or f"{username}@teszt.invalid")
    try:
        account = create_test_citizen(db.session, rt.passwords, rt.now(), rt.policy, username, password, data)
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


def test_person(family_name: str, given_name: str, email: str):
    """Plausible, unique placeholder data for a test citizen."""
    from idp.accounts.service import PersonalData

    born = date(1960, 1, 1) + timedelta(days=secrets.randbelow(40 * 365))
    return PersonalData(
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
        document_type="identity_card",
        document_number=f"{secrets.randbelow(10**6):06d}TA",
    )


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
