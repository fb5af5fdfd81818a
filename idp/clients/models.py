"""An agency's OIDC client. The methods named ``check_*``/``get_*`` are the
contract Authlib's server expects of a client (duck-typed, no import)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from idp.security.secrets import matches_digest
from idp.storage import Base

from . import scopes as sc

ACTIVE = "active"
SUSPENDED = "suspended"

CLI = "cli"
REGISTRATION = "registration"


class Client(Base):
    __tablename__ = "client"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    agency: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(16), default=ACTIVE)
    is_public: Mapped[bool] = mapped_column(Boolean, default=False)
    secret_digest: Mapped[str | None] = mapped_column(String(64))
    previous_secret_digest: Mapped[str | None] = mapped_column(String(64))
    previous_secret_expires_at: Mapped[datetime | None]
    token_endpoint_auth_method: Mapped[str] = mapped_column(String(32))
    redirect_uris: Mapped[list] = mapped_column(JSON, default=list)
    post_logout_redirect_uris: Mapped[list] = mapped_column(JSON, default=list)
    grant_types: Mapped[list] = mapped_column(JSON, default=list)
    #: Scopes this client may receive: the basic ones plus operator-approved sensitive ones.
    allowed_scopes: Mapped[str] = mapped_column(Text, default="")
    #: Sensitive scopes the integrator asked for, awaiting the operator's approval (not granted).
    pending_scopes: Mapped[str] = mapped_column(Text, default="")
    #: ``web`` or ``native`` (OIDC Dynamic Client Registration §2): native clients may use loopback http.
    application_type: Mapped[str] = mapped_column(String(8), default="web")
    id_token_signed_response_alg: Mapped[str] = mapped_column(String(16), default="RS256")
    subject_type: Mapped[str] = mapped_column(String(16), default="pairwise")
    #: Host whose citizens' ``sub`` values this client shares (OIDC Core §8.1).
    sector_identifier: Mapped[str] = mapped_column(String(255))
    sector_identifier_uri: Mapped[str | None] = mapped_column(String(500))
    jwks: Mapped[dict | None] = mapped_column(JSON)
    jwks_uri: Mapped[str | None] = mapped_column(String(500))
    backchannel_logout_uri: Mapped[str | None] = mapped_column(String(500))
    #: Its authorization requests must be pushed (RFC 9126 §5).
    require_pushed_authorization_requests: Mapped[bool] = mapped_column(Boolean, default=False)
    created_via: Mapped[str] = mapped_column(String(16), default=CLI)
    #: Digest of the RFC 7592 registration access token (dynamically registered clients only).
    registration_token_digest: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    # -- Authlib's client contract --------------------------------------------

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> None:
        # redirect_uri is required in every request (exact match, RFC 9700 §2.1).
        return None

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in (self.redirect_uris or [])

    def get_allowed_scope(self, scope: str | None) -> str:
        allowed = set(sc.parse(self.allowed_scopes))
        return sc.join(s for s in sc.parse(scope) if s in allowed)

    def check_client_secret(self, client_secret: str, now: datetime | None = None) -> bool:
        if matches_digest(client_secret, self.secret_digest):
            return True
        if self.previous_secret_digest and self.previous_secret_expires_at and now:
            return now < self.previous_secret_expires_at and matches_digest(client_secret, self.previous_secret_digest)
        return False

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == self.token_endpoint_auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in (self.grant_types or [])

    @property
    def client_metadata(self) -> dict:
        return {
            "client_name": self.name,
            "redirect_uris": list(self.redirect_uris or []),
            "post_logout_redirect_uris": list(self.post_logout_redirect_uris or []),
            "grant_types": list(self.grant_types or []),
            "response_types": ["code"],
            "token_endpoint_auth_method": self.token_endpoint_auth_method,
            "scope": self.allowed_scopes,
            "id_token_signed_response_alg": self.id_token_signed_response_alg,
            "subject_type": self.subject_type,
            "application_type": self.application_type,
            "require_pushed_authorization_requests": bool(self.require_pushed_authorization_requests),
            **{
                name: value
                for name, value in (
                    ("jwks", self.jwks),
                    ("jwks_uri", self.jwks_uri),
                    ("sector_identifier_uri", self.sector_identifier_uri),
                    ("backchannel_logout_uri", self.backchannel_logout_uri),
                )
                if value
            },
        }

    @property
    def is_active(self) -> bool:
        return self.status == ACTIVE

    def __repr__(self) -> str:
        return f"<Client {self.client_id}>"


class InitialAccessToken(Base):
    """An operator's permission for one agency to register clients (RFC 7591 §3, "initial access token").

    Stored as a SHA-256 digest; expires; usable ``max_uses`` times (one by default). Every client
    registered with it carries its agency's name.
    """

    __tablename__ = "initial_access_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    agency: Mapped[str] = mapped_column(String(200))
    max_uses: Mapped[int] = mapped_column(Integer, default=1)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
