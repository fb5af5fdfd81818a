"""The interaction record (see the package docstring).

``params`` holds the authorization request as the protocol edge validated it,
never anything the citizen typed. ``browser_digest`` binds the record to the
browser that started it: the SHA-256 digest of a random value in that
browser's cookie. A record created from a cross-site POST or a pushed request
(RFC 9126) starts unbound and is bound once, by the first request that
carries it on: the same-site GET that follows the POST, or the browser that
presents the ``request_uri``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from idp.storage import Base


class Interaction(Base):
    __tablename__ = "interaction"
    __table_args__ = (Index("ix_interaction_expires_at", "expires_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The unguessable id the pages' URLs carry (256 bits).
    uid: Mapped[str] = mapped_column(String(64), unique=True)
    client_pk: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"))
    #: The validated authorization request (``idp.oidc.authorize.AuthorizationRequest``).
    params: Mapped[dict] = mapped_column(JSON)
    #: Digest of the browser-binding cookie value; None until bound.
    browser_digest: Mapped[str | None] = mapped_column(String(64))
    #: Digest of the pushed request's ``request_uri`` (RFC 9126); None for a front-channel request.
    request_uri_digest: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    #: The sign-in session live when the request arrived ("" for none): ``prompt=login`` wants another.
    start_sid: Mapped[str] = mapped_column(String(64), default="")
    #: What is still owed before the agency gets its answer: ``login``, ``second_factor``, ``fix``, ``consent``.
    owed: Mapped[str] = mapped_column(String(32), default="")
    #: With ``fix``: the gate's reasons, as reason codes.
    reasons: Mapped[list] = mapped_column(JSON, default=list)
    #: The citizen consented within this interaction (``prompt=consent`` is then answered).
    consented_at: Mapped[datetime | None]
    #: Answered (a code, an error or a cancel went to the agency): never again.
    completed_at: Mapped[datetime | None]
