"""Protocol records: authorization codes, issued tokens, consents.

Codes and tokens are stored only as SHA-256 digests. A code remembers how the
citizen signed in (``auth_time``, ``acr``, ``amr``, ``sid``) so the ID token
states what happened. Tokens issued from one code form a family (``family_id``):
a reused code or a replayed refresh token revokes the whole family
(RFC 9700 §4.14, RFC 6749 §4.1.2).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from idp.storage import Base


class AuthorizationCode(Base):
    __tablename__ = "authorization_code"
    __table_args__ = (Index("ix_authorization_code_client_nonce", "client_pk", "nonce"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code_digest: Mapped[str] = mapped_column(String(64), unique=True)
    client_pk: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"))
    #: Indexed: an ending account's unexchanged codes are closed by account (idp.lifecycle.access).
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    sid: Mapped[str] = mapped_column(String(64))
    redirect_uri: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(Text)
    nonce: Mapped[str | None] = mapped_column(String(255))
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    code_challenge_method: Mapped[str | None] = mapped_column(String(8))
    auth_time: Mapped[datetime]
    acr: Mapped[str] = mapped_column(String(64))
    amr: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    consumed_at: Mapped[datetime | None]
    #: The token family issued from this code, set when it is exchanged.
    family_id: Mapped[str | None] = mapped_column(String(64))

    # -- Authlib's authorization code contract ---------------------------------

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return int(self.auth_time.timestamp())

    def get_acr(self) -> str:
        return self.acr

    def get_amr(self) -> list[str]:
        return list(self.amr or [])


class Token(Base):
    __tablename__ = "token"

    id: Mapped[int] = mapped_column(primary_key=True)
    family_id: Mapped[str] = mapped_column(String(64), index=True)
    client_pk: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    sid: Mapped[str] = mapped_column(String(64), index=True)
    scope: Mapped[str] = mapped_column(Text)
    access_digest: Mapped[str] = mapped_column(String(64), unique=True)
    refresh_digest: Mapped[str | None] = mapped_column(String(64), unique=True)
    issued_at: Mapped[datetime]
    access_expires_at: Mapped[datetime]
    refresh_expires_at: Mapped[datetime | None]
    #: The refresh token was exchanged for a new pair (rotation); using it again is reuse.
    rotated_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    auth_time: Mapped[datetime]
    acr: Mapped[str] = mapped_column(String(64))
    amr: Mapped[list] = mapped_column(JSON, default=list)
    #: The claim names (sorted, space-separated, never values) the ID token issued with this token
    #: released: the access history's ``id_token`` entry, written with the token in one INSERT.
    #: None for a refresh (no ID token). Whoever ever deletes token rows must first fold these
    #: into ``claim_release`` (``releases.fold``), or the history loses them.
    released_claims: Mapped[str | None] = mapped_column(Text)

    # -- Authlib's token contract (refresh grant, revocation) ------------------

    def check_client(self, client) -> bool:
        return self.client_pk == client.id

    def get_scope(self) -> str:
        return self.scope


class Consent(Base):
    __tablename__ = "consent"
    __table_args__ = (UniqueConstraint("account_id", "client_pk", name="uq_consent_account_client"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    client_pk: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"))
    scopes: Mapped[str] = mapped_column(Text)
    granted_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class LogoutNotice(Base):
    """One agency to be told that one sign-in session ended (OpenID Connect Back-Channel Logout 1.0).

    Queued in the transaction that ends the session, delivered after it commits,
    retried with backoff while the agency does not answer; each attempt is kept
    in ``attempts`` (time and outcome, never the token).
    """

    __tablename__ = "logout_notice"
    __table_args__ = (Index("ix_logout_notice_due", "delivered_at", "given_up_at", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_pk: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    sid: Mapped[str] = mapped_column(String(64))
    #: The logout token's ``jti``: the same across retries, so the agency can drop a repeat.
    jti: Mapped[str] = mapped_column(String(64), unique=True)
    reason: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    #: Set while one worker delivers it, so the retry job and the request's own attempt never both send.
    claimed_until: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    given_up_at: Mapped[datetime | None]
    attempts: Mapped[list] = mapped_column(JSON, default=list)


class ClaimRelease(Base):
    """The citizen's access history: which agency received which claims, through which channel, when.

    One row per account, client, channel, claim set and day: repeats that day
    count up and move ``last_at`` (one upsert per release, no read first). The
    ``userinfo`` channel is written here; the ``id_token`` channel is derived from
    ``token.released_claims`` (``idp.authorizations.releases``).
    """

    __tablename__ = "claim_release"
    __table_args__ = (
        UniqueConstraint("account_id", "client_pk", "channel", "claims", "day", name="uq_claim_release_daily"),
        Index("ix_claim_release_account_last", "account_id", "last_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    client_pk: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"))
    #: ``id_token`` (at sign-in) or ``userinfo``.
    channel: Mapped[str] = mapped_column(String(16))
    #: Space-separated claim names, sorted (never the values).
    claims: Mapped[str] = mapped_column(Text)
    day: Mapped[str] = mapped_column(String(10))
    first_at: Mapped[datetime]
    last_at: Mapped[datetime]
    count: Mapped[int] = mapped_column(default=1)
