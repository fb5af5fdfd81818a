"""What the operator and an agency's integrator do with clients: one verb per action, each
auditing and committing what the clients domain (``idp.clients``) decided (STYLE.md, "one tier
commits").

Audit events: ``client_added``, ``initial_access_token_issued``, ``client_registered``,
``client_updated``, ``client_removed``, ``client_suspended``, ``client_resumed``,
``client_scope_approved``, ``client_scope_refused``, ``client_secret_rotated``. Never a token or
a secret.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from idp import audit
from idp.clients import registration, service
from idp.clients.metadata import ClientMetadata
from idp.clients.models import ACTIVE, SUSPENDED, Client, InitialAccessToken

from .context import transaction


def integrator(agency: str) -> audit.Actor:
    return audit.Actor(audit.INTEGRATOR, agency[:128])


def _record(session: Session, now: datetime, event: str, actor: audit.Actor, client: Client, **details) -> None:
    audit.record(session, now, event, actor, client_id=client.client_id, agency=client.agency, **details)


def add(session: Session, now: datetime, meta: ClientMetadata, actor: audit.Actor) -> tuple[Client, str | None]:
    """The operator registers a client (metadata validated by the caller's rules); returns it and
    its secret, shown once."""
    with transaction(session):
        client, secret = service.create_client(session, now, meta, created_via="cli")
        _record(session, now, "client_added", actor, client)
    return client, secret


def issue_initial_token(
    session: Session, now: datetime, agency: str, actor: audit.Actor, *, lifetime: timedelta, max_uses: int
) -> tuple[InitialAccessToken, str]:
    """An initial access token for one agency's integrator (shown once)."""
    with transaction(session):
        row, value = registration.issue_initial_token(session, now, agency, lifetime=lifetime, max_uses=max_uses)
        audit.record(
            session, now, "initial_access_token_issued", actor, agency=row.agency, token_id=row.id,
            expires_at=row.expires_at.isoformat(), max_uses=row.max_uses,
        )
    return row, value


def register(
    session: Session, now: datetime, policy: registration.RegistrationPolicy, initial_token: str | None,
    meta: ClientMetadata,
) -> registration.Registered:
    """RFC 7591 §3: an integrator registers a client with an initial access token; refused metadata
    uses nothing up (the transaction rolls back)."""
    with transaction(session):
        done = registration.register(session, now, policy, initial_token, meta)
        _record(session, now, "client_registered", integrator(done.client.agency), done.client,
                initial_token_id=done.initial_token_id, pending_scopes=done.client.pending_scopes)
    return done


def update_registered(
    session: Session, now: datetime, policy: registration.RegistrationPolicy, client: Client, meta: ClientMetadata
) -> str | None:
    """RFC 7592 §2.2; returns a new secret when the client newly needs one."""
    with transaction(session):
        secret = registration.update_registered(session, now, policy, client, meta)
        _record(session, now, "client_updated", integrator(client.agency), client, pending_scopes=client.pending_scopes)
    return secret


def remove(session: Session, now: datetime, client: Client, actor: audit.Actor) -> None:
    """The operator removes a client, or its integrator deletes it (RFC 7592 §2.3)."""
    with transaction(session):
        _record(session, now, "client_removed", actor, client)
        service.remove(session, client)


def suspend(session: Session, now: datetime, client: Client, actor: audit.Actor) -> None:
    with transaction(session):
        service.set_status(client, SUSPENDED, now)
        _record(session, now, "client_suspended", actor, client)


def resume(session: Session, now: datetime, client: Client, actor: audit.Actor) -> None:
    with transaction(session):
        service.set_status(client, ACTIVE, now)
        _record(session, now, "client_resumed", actor, client)


def decide_scope(session: Session, now: datetime, client: Client, scope: str, actor: audit.Actor, *, approve: bool) -> None:
    with transaction(session):
        service.decide_scope(client, scope, now, approve=approve)
        _record(session, now, "client_scope_approved" if approve else "client_scope_refused", actor, client, scope=scope)


def set_offline_access(session: Session, now: datetime, client: Client, actor: audit.Actor, *, allow: bool) -> None:
    with transaction(session):
        service.set_offline_access(client, now, allow=allow)
        _record(session, now, "client_offline_allowed" if allow else "client_offline_withdrawn", actor, client)


def rotate_secret(session: Session, now: datetime, client: Client, actor: audit.Actor, grace: timedelta) -> str:
    """A new secret (shown once); the previous one works for ``grace``."""
    with transaction(session):
        secret = service.rotate_secret(client, now, grace)
        _record(session, now, "client_secret_rotated", actor, client,
                previous_valid_until=client.previous_secret_expires_at.isoformat())
    return secret
