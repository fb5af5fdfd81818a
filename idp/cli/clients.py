"""``idp clients``: agencies' OIDC clients, registered by the operator or through dynamic
registration (RFC 7591) with an initial access token; approval of the sensitive scope,
suspension and secret rotation. Every change is audited and committed by the lifecycle tier
(``idp.lifecycle.clients``).
"""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

from idp.audit import OPERATOR_CLI
from idp.cli.options import duration, emit, emit_json, runtime
from idp.clients import scopes as sc
from idp.clients import service
from idp.clients.errors import ClientError
from idp.clients.metadata import ClientMetadata, MetadataError, validate
from idp.clients.remote import Fetcher
from idp.extensions import db
from idp.lifecycle import clients
from idp.oidc.discovery import ENDPOINTS


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
@click.option(
    "--offline-access", "offline", is_flag=True,
    help="Allow offline access (the offline_access scope and refresh tokens). A refresh token is issued only "
         "when the client asks for offline_access with prompt=consent and the citizen ticks it on the consent page.",
)
@click.option("--no-refresh", is_flag=True, help="No offline access and no refresh tokens (the default; overrides --offline-access).")
@click.option("--require-par", is_flag=True,
              help="Accept this client's authorization requests only as pushed requests (RFC 9126).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_appcontext
def clients_add(
    name, agency, redirect_uris, post_logout, scopes, auth_method, public, jwks_file, id_token_alg, subject_type,
    sector_identifier_uri, backchannel_logout_uri, offline, no_refresh, require_par, as_json,
):
    """Register a client; prints its id and secret (the secret is shown once and stored hashed)."""
    rt = runtime()
    scopes = [s for s in (list(scopes) or list(sc.BASIC_SCOPES)) if not (no_refresh and s == sc.OFFLINE_ACCESS)]
    if offline and not no_refresh and sc.OFFLINE_ACCESS not in scopes:
        scopes.append(sc.OFFLINE_ACCESS)
    meta = ClientMetadata(
        name=name,
        agency=agency,
        redirect_uris=list(redirect_uris),
        post_logout_redirect_uris=list(post_logout),
        scopes=scopes,
        token_endpoint_auth_method="none" if public else auth_method,
        grant_types=["authorization_code", "refresh_token"] if sc.OFFLINE_ACCESS in scopes else ["authorization_code"],
        id_token_signed_response_alg=id_token_alg,
        subject_type=subject_type,
        jwks=json.load(jwks_file) if jwks_file else None,
        sector_identifier_uri=sector_identifier_uri,
        backchannel_logout_uri=backchannel_logout_uri,
        require_pushed_authorization_requests=require_par,
    )
    try:
        validate(
            meta, supported_algs=rt.keyring.supported_algorithms(), allow_loopback_http=True,
            fetcher=Fetcher(allow_loopback_http=rt.settings.server.development),
        )
    except MetadataError as exc:
        raise click.UsageError(f"{exc.error}: {exc.description}") from None
    client, secret = clients.add(db.session, rt.now(), meta, OPERATOR_CLI)
    out = _client_view(client)
    if secret:
        out["client_secret"] = secret
    emit(out, as_json)


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
        "require_pushed_authorization_requests": bool(client.require_pushed_authorization_requests),
        "created_at": client.created_at.isoformat(),
    }


@clients_cli.command("list")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def clients_list(as_json):
    rows = [_client_view(c) for c in service.list_clients(db.session)]
    if as_json:
        emit_json(rows)
        return
    for row in rows:
        click.echo(f"{row['client_id']}  {row['status']:9}  {row['client_name']}  {' '.join(row['redirect_uris'])}")


@clients_cli.command("show")
@click.argument("client_id")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def clients_show(client_id, as_json):
    emit(_client_view(_client_or_fail(client_id)), as_json)


def _client_or_fail(client_id: str):
    client = service.find(db.session, client_id)
    if client is None:
        raise click.ClickException(f"no client {client_id}")
    return client


def _client_error(exc: ClientError) -> click.ClickException:
    return click.ClickException(exc.reason)


@clients_cli.command("remove")
@click.argument("client_id")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: client_id, status.")
@with_appcontext
def clients_remove(client_id, as_json):
    """Remove a client with its codes, tokens and consents."""
    clients.remove(db.session, runtime().now(), _client_or_fail(client_id), OPERATOR_CLI)
    _done(client_id, "removed", as_json)


@clients_cli.command("initial-token")
@click.option("--agency", required=True, help="The agency whose integrator registers clients with the token.")
@click.option("--expires", "expires", default="7d", show_default=True, help="Lifetime: 7d, 12h, 30m…")
@click.option("--uses", default=1, show_default=True, type=click.IntRange(1, 1000),
              help="How many clients it may register (single-use by default).")
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON object: initial_access_token, agency, expires_at, uses, registration_endpoint.")
@with_appcontext
def clients_initial_token(agency, expires, uses, as_json):
    """Issue an initial access token for dynamic registration (RFC 7591); printed once, stored hashed.
    Single-use unless --uses says otherwise."""
    rt = runtime()
    try:
        row, token = clients.issue_initial_token(
            db.session, rt.now(), agency, OPERATOR_CLI, lifetime=duration(expires), max_uses=uses
        )
    except ClientError as exc:
        raise _client_error(exc) from None
    out = {
        "initial_access_token": token,
        "agency": row.agency,
        "expires_at": row.expires_at.isoformat(),
        "uses": row.max_uses,
        "registration_endpoint": rt.issuer + ENDPOINTS["registration_endpoint"],
    }
    emit(out, as_json)


@clients_cli.command("approve")
@click.argument("client_id")
@click.option("--scope", required=True, help="The sensitive scope, e.g. natural_identity.")
@click.option("--refuse", is_flag=True, help="Refuse the request (or withdraw an approval) instead.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: client_id, scope, decision, allowed_scope.")
@with_appcontext
def clients_approve(client_id, scope, refuse, as_json):
    """Approve (or refuse) a client's request for a sensitive scope."""
    client = _client_or_fail(client_id)
    try:
        clients.decide_scope(db.session, runtime().now(), client, scope, OPERATOR_CLI, approve=not refuse)
    except ClientError as exc:
        raise _client_error(exc) from None
    if as_json:
        emit_json({"client_id": client_id, "scope": scope, "decision": "refused" if refuse else "approved",
                   "allowed_scope": client.allowed_scopes})
        return
    click.echo(f"{'refused' if refuse else 'approved'} {scope} for {client_id}; scope now: {client.allowed_scopes}")


@clients_cli.command("offline-access")
@click.argument("client_id")
@click.option("--withdraw", is_flag=True, help="Withdraw offline access: the client's refresh tokens stop working at once.")
@with_appcontext
def clients_offline_access(client_id, withdraw):
    """Allow (or withdraw) a client's offline access: the offline_access scope and refresh tokens
    (OpenID Connect Core §11). The client must still ask for offline_access with prompt=consent, and
    the citizen must tick it on the consent page, before a refresh token is issued."""
    client = _client_or_fail(client_id)
    clients.set_offline_access(db.session, runtime().now(), client, OPERATOR_CLI, allow=not withdraw)
    click.echo(f"{'withdrew' if withdraw else 'allowed'} offline access for {client_id}; scope now: {client.allowed_scopes}")


@clients_cli.command("suspend")
@click.argument("client_id")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: client_id, status.")
@with_appcontext
def clients_suspend(client_id, as_json):
    """Suspend a client: authentication, sign-ins and its tokens stop working at once."""
    clients.suspend(db.session, runtime().now(), _client_or_fail(client_id), OPERATOR_CLI)
    _done(client_id, "suspended", as_json)


@clients_cli.command("resume")
@click.argument("client_id")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: client_id, status.")
@with_appcontext
def clients_resume(client_id, as_json):
    """End a suspension."""
    clients.resume(db.session, runtime().now(), _client_or_fail(client_id), OPERATOR_CLI)
    _done(client_id, "resumed", as_json)


def _done(client_id: str, what: str, as_json: bool) -> None:
    """``removed X`` (and so on), or with --json one object naming the client and what happened."""
    if as_json:
        emit_json({"client_id": client_id, "status": what})
    else:
        click.echo(f"{what} {client_id}")


@clients_cli.command("rotate-secret")
@click.argument("client_id")
@click.option("--grace", default="7d", show_default=True, help="How long the previous secret keeps working (at most 30d).")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def clients_rotate_secret(client_id, grace, as_json):
    """Give a client a new secret (printed once); the previous one works for the grace period."""
    client = _client_or_fail(client_id)
    try:
        secret = clients.rotate_secret(db.session, runtime().now(), client, OPERATOR_CLI, duration(grace))
    except ClientError as exc:
        raise _client_error(exc) from None
    out = {"client_id": client.client_id, "client_secret": secret,
           "previous_secret_valid_until": client.previous_secret_expires_at.isoformat()}
    emit(out, as_json)
