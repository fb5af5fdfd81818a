"""Dynamic client registration (RFC 7591, OpenID Connect Dynamic Client Registration 1.0) and
client management by the integrator (RFC 7592).

- The operator issues an **initial access token** for one agency (``issue_initial_token``):
  random, shown once, stored as a SHA-256 digest, expiring (7 days by default), usable once
  unless the operator allows more uses. Every client registered with it carries that agency.
- Registration creates the client through the same service as the CLI
  (``service.create_client``), after the stricter ``metadata.validate_registration``.
  Basic scopes are granted; sensitive ones are recorded as pending for the operator's approval
  and not granted until then.
- The response carries a **registration access token** (again random, shown once, stored as a
  digest) for reading, updating and deleting the client at its ``registration_client_uri``.

Refusals of a token are ``RegistrationDenied`` (HTTP 401); refusals of metadata are
``MetadataError`` (HTTP 400, RFC 7591 §3.2.2).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from idp.security.secrets import digest, new_secret

from . import service
from .errors import ClientError
from .metadata import ClientMetadata, validate_registration
from .models import REGISTRATION, Client, InitialAccessToken
from .remote import Fetcher

DEFAULT_INITIAL_TOKEN_LIFETIME = timedelta(days=7)
MAX_TOKEN_LENGTH = 512


class RegistrationDenied(ClientError):
    """No (valid) initial or registration access token: ``token_missing`` or ``token_invalid``."""


@dataclass(frozen=True)
class RegistrationPolicy:
    """What dynamic registration accepts: the provider's ID token algorithms, and development
    mode (loopback http redirect URIs for web clients, fetches from loopback)."""

    supported_algs: list[str]
    development: bool

    @property
    def fetcher(self) -> Fetcher:
        return Fetcher(allow_loopback_http=self.development)

    def validate(self, meta: ClientMetadata) -> ClientMetadata:
        return validate_registration(
            meta, supported_algs=self.supported_algs, development=self.development, fetcher=self.fetcher
        )


# -- Initial access tokens (the operator) ----------------------------------------------------------


def issue_initial_token(
    session: Session, now: datetime, agency: str, *, lifetime: timedelta = DEFAULT_INITIAL_TOKEN_LIFETIME,
    max_uses: int = 1,
) -> tuple[InitialAccessToken, str]:
    """Returns the record and the token (shown once)."""
    agency = " ".join((agency or "").split())
    if not agency or len(agency) > 200:
        raise ClientError("agency_invalid")
    if lifetime <= timedelta(0) or max_uses < 1:
        raise ClientError("initial_token_limits_invalid")
    value = new_secret(32)
    row = InitialAccessToken(
        token_digest=digest(value), agency=agency, max_uses=max_uses, uses=0, created_at=now, expires_at=now + lifetime
    )
    session.add(row)
    session.flush()
    return row, value


def _presented_forms(presented: str) -> list[str]:
    """The token as sent, and decoded once from base64: some client libraries (pyoidc) base64-encode
    an initial access token that is not a JWT before sending it as a Bearer token."""
    forms = [presented]
    try:
        decoded = base64.b64decode(presented, validate=True).decode("ascii")
    except (binascii.Error, ValueError):
        return forms
    if decoded and decoded != presented:
        forms.append(decoded)
    return forms


def _usable_initial_token(session: Session, presented: str | None, now: datetime) -> InitialAccessToken:
    if not presented:
        raise RegistrationDenied("token_missing")
    if len(presented) > MAX_TOKEN_LENGTH:
        raise RegistrationDenied("token_invalid")
    digests = [digest(v) for v in _presented_forms(presented)]
    row = session.scalar(select(InitialAccessToken).where(InitialAccessToken.token_digest.in_(digests)))
    if row is None or row.revoked_at is not None or row.expires_at <= now or row.uses >= row.max_uses:
        raise RegistrationDenied("token_invalid")
    return row


def _claim(session: Session, row: InitialAccessToken, now: datetime) -> None:
    """One use, counted by one conditional UPDATE: two registrations racing for the last use
    cannot both win."""
    result = session.execute(
        update(InitialAccessToken)
        .where(
            InitialAccessToken.id == row.id,
            InitialAccessToken.uses < InitialAccessToken.max_uses,
            InitialAccessToken.revoked_at.is_(None),
            InitialAccessToken.expires_at > now,
        )
        .values(uses=InitialAccessToken.uses + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise RegistrationDenied("token_invalid")


# -- Registration and management (the integrator) -------------------------------------------------


@dataclass
class Registered:
    client: Client
    secret: str | None
    registration_token: str
    initial_token_id: int


def register(
    session: Session, now: datetime, policy: RegistrationPolicy, initial_token: str | None, meta: ClientMetadata
) -> Registered:
    """RFC 7591 §3: create a client for the initial access token's agency."""
    token = _usable_initial_token(session, initial_token, now)
    meta.agency = token.agency
    meta.name = meta.name or token.agency
    policy.validate(meta)
    allowed, pending = service.split_scopes(meta.scopes)
    meta.scopes = allowed.split()
    _claim(session, token, now)
    client, secret = service.create_client(session, now, meta, created_via=REGISTRATION, pending_scopes=pending)
    registration_token = new_secret(32)
    client.registration_token_digest = digest(registration_token)
    return Registered(client, secret, registration_token, token.id)


def find_managed(session: Session, client_id: str, registration_token: str | None) -> Client:
    """RFC 7592 §2: the client that this registration access token manages."""
    if not registration_token or len(registration_token) > MAX_TOKEN_LENGTH:
        raise RegistrationDenied("token_missing" if not registration_token else "token_invalid")
    client = session.scalar(select(Client).where(Client.registration_token_digest == digest(registration_token)))
    # The lookup is by digest; the client_id in the URL must then name that same client.
    if client is None or client.client_id != client_id:
        raise RegistrationDenied("token_invalid")
    return client


def update_registered(session: Session, now: datetime, policy: RegistrationPolicy, client: Client, meta: ClientMetadata) -> str | None:
    """RFC 7592 §2.2: replace the metadata. Returns a new secret when the client newly needs one.
    The subject type stays what it is (the ``sub`` the agency already stores must not change, and
    public is the operator's grant): a different request is replaced, as RFC 7591 §3.2.1 allows."""
    meta.agency = client.agency
    meta.name = meta.name or client.agency
    policy.validate(meta)
    meta.subject_type = client.subject_type
    return service.update_client(session, now, client, meta)
