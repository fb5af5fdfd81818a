"""Creating and managing clients: one code path, whoever asks (CLI or registration)."""

from __future__ import annotations

import secrets
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.security.secrets import digest, new_secret

from . import scopes as sc
from .metadata import ClientMetadata
from .models import SUSPENDED, Client


_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def new_client_id() -> str:
    """24 letters and digits (143 bits): safe in URLs, forms and command lines (no leading dash)."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(24))


def sector_of(meta: ClientMetadata) -> str:
    if meta.sector_identifier_uri:
        return urlsplit(meta.sector_identifier_uri).hostname or ""
    return urlsplit(meta.redirect_uris[0]).hostname or ""


def create_client(session: Session, now: datetime, meta: ClientMetadata, *, created_via: str) -> tuple[Client, str | None]:
    """Create a client from validated metadata; returns it and its secret (shown once, stored hashed)."""
    secret = None if meta.is_public or meta.token_endpoint_auth_method == "private_key_jwt" else new_secret(32)
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
        id_token_signed_response_alg=meta.id_token_signed_response_alg,
        subject_type=meta.subject_type,
        sector_identifier=sector_of(meta),
        sector_identifier_uri=meta.sector_identifier_uri,
        jwks=meta.jwks,
        jwks_uri=meta.jwks_uri,
        backchannel_logout_uri=meta.backchannel_logout_uri,
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


def remove(session: Session, client: Client) -> None:
    session.delete(client)


def suspend(session: Session, client: Client, now: datetime) -> None:
    client.status = SUSPENDED
    client.updated_at = now
