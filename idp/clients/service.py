"""Creating and managing clients: one code path, whoever asks (CLI or registration).

The domain decides and changes the records; it never commits nor audits: the lifecycle
tier's verbs (``idp.lifecycle.clients``) do, for the operator's CLI and the integrator's
registration alike.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.security.secrets import digest, new_secret

from . import scopes as sc
from .errors import ClientError
from .metadata import ClientMetadata, MetadataError
from .models import Client

#: A rotated secret stays valid this long by default, so agencies can roll the new one out.
DEFAULT_SECRET_GRACE = timedelta(days=7)
MAX_SECRET_GRACE = timedelta(days=30)


def split_scopes(requested: list[str], approved: str = "") -> tuple[str, str]:
    """(allowed, pending): basic scopes are granted as requested; a sensitive one only when the
    operator already approved it for this client, otherwise it waits for approval."""
    approved_set = set(sc.parse(approved))
    allowed = [s for s in requested if s not in sc.SENSITIVE_SCOPES or s in approved_set]
    pending = [s for s in requested if s in sc.SENSITIVE_SCOPES and s not in approved_set]
    return sc.join(allowed), sc.join(pending)


_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def new_client_id() -> str:
    """24 letters and digits (143 bits): safe in URLs, forms and command lines (no leading dash)."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(24))


def sector_of(meta: ClientMetadata) -> str:
    if meta.sector_identifier_uri:
        return urlsplit(meta.sector_identifier_uri).hostname or ""
    return urlsplit(meta.redirect_uris[0]).hostname or ""


def _needs_secret(meta: ClientMetadata) -> bool:
    return not (meta.is_public or meta.token_endpoint_auth_method == "private_key_jwt")


def create_client(
    session: Session, now: datetime, meta: ClientMetadata, *, created_via: str, pending_scopes: str = ""
) -> tuple[Client, str | None]:
    """Create a client from validated metadata; returns it and its secret (shown once, stored hashed)."""
    secret = new_secret(32) if _needs_secret(meta) else None
    client = Client(
        client_id=new_client_id(),
        name=meta.name,
        agency=meta.agency or meta.name,
        is_public=meta.is_public,
        secret_digest=digest(secret) if secret else None,
        token_endpoint_auth_method=meta.token_endpoint_auth_method,
        redirect_uris=list(meta.redirect_uris),
        post_logout_redirect_uris=list(meta.post_logout_redirect_uris),
        grant_types=list(meta.grant_types),
        allowed_scopes=sc.join(meta.scopes),
        pending_scopes=pending_scopes,
        application_type=meta.application_type,
        id_token_signed_response_alg=meta.id_token_signed_response_alg,
        subject_type=meta.subject_type,
        sector_identifier=sector_of(meta),
        sector_identifier_uri=meta.sector_identifier_uri,
        jwks=meta.jwks,
        jwks_uri=meta.jwks_uri,
        backchannel_logout_uri=meta.backchannel_logout_uri,
        require_pushed_authorization_requests=meta.require_pushed_authorization_requests,
        created_via=created_via,
        created_at=now,
        updated_at=now,
    )
    session.add(client)
    session.flush()
    return client, secret


def find(session: Session, client_id: str) -> Client | None:
    return session.scalar(select(Client).where(Client.client_id == client_id))


def find_active(session: Session, client_id: str) -> Client | None:
    client = find(session, client_id)
    return client if client is not None and client.is_active else None


def list_clients(session: Session) -> list[Client]:
    return list(session.scalars(select(Client).order_by(Client.id)))


def update_client(session: Session, now: datetime, client: Client, meta: ClientMetadata) -> str | None:
    """Replace a client's metadata with validated ``meta`` (RFC 7592 §2.2). The sector stays the
    one registered, so ``sub`` values do not change under the agency; approved sensitive scopes
    stay approved while requested. Returns a new secret when the client newly needs one."""
    if meta.sector_identifier_uri and sector_of(meta) != client.sector_identifier:
        raise MetadataError("invalid_client_metadata", "sector_identifier_uri cannot change the sector")
    if meta.subject_type != client.subject_type:
        raise MetadataError("invalid_client_metadata", "subject_type cannot change")
    allowed, pending = split_scopes(meta.scopes, client.allowed_scopes)
    secret = new_secret(32) if _needs_secret(meta) and not client.secret_digest else None
    client.name = meta.name
    client.is_public = meta.is_public
    client.token_endpoint_auth_method = meta.token_endpoint_auth_method
    client.redirect_uris = list(meta.redirect_uris)
    client.post_logout_redirect_uris = list(meta.post_logout_redirect_uris)
    client.grant_types = list(meta.grant_types)
    client.allowed_scopes = allowed
    client.pending_scopes = pending
    client.id_token_signed_response_alg = meta.id_token_signed_response_alg
    client.application_type = meta.application_type
    client.sector_identifier_uri = meta.sector_identifier_uri
    client.jwks = meta.jwks
    client.jwks_uri = meta.jwks_uri
    client.backchannel_logout_uri = meta.backchannel_logout_uri
    client.require_pushed_authorization_requests = meta.require_pushed_authorization_requests
    if secret:
        client.secret_digest = digest(secret)
    elif not _needs_secret(meta):
        client.secret_digest = client.previous_secret_digest = client.previous_secret_expires_at = None
    client.updated_at = now
    return secret


def remove(session: Session, client: Client) -> None:
    """Remove a client; its codes, tokens and consents go with it (foreign keys cascade, and a
    token whose client is gone is found by no lookup)."""
    session.delete(client)


def set_status(client: Client, status: str, now: datetime) -> None:
    """``SUSPENDED``: the client fails client authentication and /authorize, and its tokens are refused
    at userinfo, introspection and refresh at once; ``ACTIVE`` again: they work while unexpired."""
    client.status = status
    client.updated_at = now


def decide_scope(client: Client, scope: str, now: datetime, *, approve: bool) -> None:
    """The operator approves (or refuses) a sensitive scope for a client; approving one the client
    never asked for is allowed (the CLI's clients), refusing one withdraws it."""
    if scope not in sc.SENSITIVE_SCOPES:
        raise ClientError("scope_not_sensitive")
    pending = set(sc.parse(client.pending_scopes)) - {scope}
    allowed = set(sc.parse(client.allowed_scopes))
    if approve:
        allowed.add(scope)
    else:
        allowed.discard(scope)
    client.allowed_scopes = sc.join(allowed)
    client.pending_scopes = sc.join(pending)
    client.updated_at = now


def rotate_secret(client: Client, now: datetime, grace: timedelta) -> str:
    """A new secret (returned once); the current one keeps working for ``grace``, so the agency
    can deploy the new one without downtime. A secret rotated earlier and still in its grace ends now."""
    if not client.secret_digest:
        raise ClientError("client_has_no_secret")
    if grace < timedelta(0) or grace > MAX_SECRET_GRACE:
        raise ClientError("grace_out_of_range")
    secret = new_secret(32)
    client.previous_secret_digest = client.secret_digest
    client.previous_secret_expires_at = now + grace
    client.secret_digest = digest(secret)
    client.updated_at = now
    return secret


def set_offline_access(client: Client, now: datetime, *, allow: bool) -> None:
    """The operator allows (or withdraws) a client's offline access: the ``offline_access`` scope with
    the ``refresh_token`` grant (OIDC Core §11). Withdrawn, the client's refresh tokens stop working
    at once: the refresh grant checks the client's permission on every use."""
    allowed = set(sc.parse(client.allowed_scopes))
    grants = [g for g in (client.grant_types or []) if g != "refresh_token"]
    if allow:
        allowed.add(sc.OFFLINE_ACCESS)
        grants.append("refresh_token")
    else:
        allowed.discard(sc.OFFLINE_ACCESS)
    client.allowed_scopes = sc.join(allowed)
    client.grant_types = grants
    client.updated_at = now
