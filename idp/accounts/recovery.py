"""Recovering a forgotten password from home (PRODUCT.md "Beyond the seed": account recovery;
NIST SP 800-63B §6.1.2.3, "Replacement of a lost authenticator"; ASVS 5.0 V6.4).

The citizen gives the username and the email address. What follows depends only on the account,
never on what the answer page says (the page is the same for every outcome, ``idp.lifecycle.recovery``):

* ``route_for`` decides where the account belongs: a recovery link (``LINK``) for an ACTIVE account
  with a password the citizen chose; activation (``ACTIVATION``) while the account is awaiting its
  first sign-in or still holds an initial password (rule 7: no agency before a citizen-chosen
  password); an office (``OFFICE``) when identity is still to be verified there or the 2009 rule's
  renewal window has passed (``validity.is_reactivation_due``); nothing (``NONE``) for an unknown,
  ended or mismatched account.
* A link carries 256 random bits; only their SHA-256 digest is stored (a lookup by digest compares
  no secret byte by byte), it is good for ``RecoveryPolicy.link_lifetime`` (30 minutes by default),
  used once (claimed with one conditional ``UPDATE``), and a newer link, a used one or a new
  password revokes the others.
* An Ügyfélkapu+ account proves its second factor first (``factor_passed``), with the sign-in's
  own check (``idp.lifecycle.second_factor.verify``), so a recovery never lowers the assurance
  the citizen chose; the new password is accepted only after it.

Reasons: ``recovery_link_invalid`` (unknown, expired, used or revoked: one reason, the citizen
asks for a new link in every case), ``recovery_factor_owed``, and those of the password rules.
"""

from __future__ import annotations

import enum
import hmac
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, String, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from idp.security.secrets import digest, new_secret
from idp.storage import Base

from .errors import AccountError
from .models import Account
from .service import find_by_username
from .states import AccountState
from .validity import is_reactivation_due

#: 32 bytes: 256 bits of randomness in every link (NIST SP 800-63B §6.1.2.3 asks for at least 64).
TOKEN_BYTES = 32


class Route(enum.StrEnum):
    """Where a recovery request for an account leads (what the mail says)."""

    LINK = "link"
    ACTIVATION = "activation"
    OFFICE = "office"
    NONE = "none"


@dataclass(frozen=True)
class RecoveryPolicy:
    #: How long a link works (``[recovery] link_minutes``).
    link_lifetime: timedelta = timedelta(minutes=30)
    #: Requests per account (username) in ``window`` that may send a mail; more are answered alike and dropped.
    per_account: int = 3
    #: Requests per network address in ``window``.
    per_address: int = 20
    window: timedelta = timedelta(hours=1)


class RecoveryLink(Base):
    """A mailed recovery link: the digest of its token, its life, its single use, and whether the
    account's second factor was proven through it."""

    __tablename__ = "recovery_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    #: When the Ügyfélkapu+ code was proven through this link, and with which method.
    factor_passed_at: Mapped[datetime | None]
    factor_method: Mapped[str | None] = mapped_column(String(16))
    used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    def __repr__(self) -> str:  # never the digest
        return f"<RecoveryLink {self.id} account={self.account_id}>"


@dataclass(frozen=True)
class IssuedLink:
    """A link just made, for the caller to mail (only its digest is kept)."""

    token: str
    expires_at: datetime

    def __repr__(self) -> str:
        return f"<IssuedLink expires_at={self.expires_at.isoformat()}>"


def _email_key(value: str | None) -> bytes:
    return unicodedata.normalize("NFKC", value or "").strip().casefold().encode("utf-8")


def find_account(session: Session, username: str, email: str) -> Account | None:
    """The account with this username whose address is this email (compared in constant time,
    case-insensitively), or None. One query whatever the answer."""
    username = (username or "").strip()
    account = find_by_username(session, username) if username and len(username) <= 64 else None
    stored = account.email if account is not None else ""
    same = hmac.compare_digest(_email_key(stored), _email_key(email)) and bool(stored)
    return account if same else None


def route_for(account: Account | None, now: datetime, policy) -> Route:
    """Where a recovery request for ``account`` (None: no match) leads; ``policy`` is the
    ``ValidityPolicy`` (the 2009 rule's renewal window)."""
    if account is None or not account.is_live or not account.email:
        return Route.NONE
    if account.state is AccountState.PENDING_VERIFICATION:
        return Route.OFFICE
    if account.state is AccountState.AWAITING_ACTIVATION or account.must_change_password:
        return Route.ACTIVATION
    if is_reactivation_due(account, now, policy):
        return Route.OFFICE
    return Route.LINK


def issue(session: Session, account: Account, now: datetime, policy: RecoveryPolicy) -> IssuedLink:
    """A new link for ``account``; every earlier one stops working."""
    revoke_all(session, [account.id], now)
    token = new_secret(TOKEN_BYTES)
    expires_at = now + policy.link_lifetime
    session.add(RecoveryLink(account_id=account.id, token_digest=digest(token), created_at=now, expires_at=expires_at))
    session.flush()
    return IssuedLink(token, expires_at)


def is_usable(link: RecoveryLink | None, now: datetime) -> bool:
    return link is not None and link.used_at is None and link.revoked_at is None and link.expires_at > now


def find_link(session: Session, token: str, now: datetime) -> RecoveryLink:
    """The live link of ``token``, or ``recovery_link_invalid``. Looked up by the token's digest
    (the database compares digests, never the secret), then its account must still be one a link
    is for."""
    if not token or len(token) > 128:
        raise AccountError("recovery_link_invalid")
    link = session.scalar(
        select(RecoveryLink).where(RecoveryLink.token_digest == digest(token)).execution_options(populate_existing=True)
    )
    if not is_usable(link, now) or not hmac.compare_digest(link.token_digest, digest(token)):
        raise AccountError("recovery_link_invalid")
    return link


def account_of(session: Session, link: RecoveryLink, now: datetime, policy) -> Account:
    """The account of a live link, while a link still fits it (``route_for`` is ``LINK``)."""
    account = session.get(Account, link.account_id)
    if route_for(account, now, policy) is not Route.LINK:
        raise AccountError("recovery_link_invalid")
    return account


def factor_owed(account: Account, link: RecoveryLink) -> bool:
    """Whether the second factor is still to be proven through this link (Ügyfélkapu+)."""
    return account.has_second_factor and link.factor_passed_at is None


def record_factor(link: RecoveryLink, method: str, now: datetime) -> None:
    link.factor_passed_at = now
    link.factor_method = method


def claim(session: Session, link: RecoveryLink, now: datetime) -> None:
    """Use the link once; ``recovery_link_invalid`` when another request used or revoked it first."""
    result = session.execute(
        update(RecoveryLink)
        .where(RecoveryLink.id == link.id, RecoveryLink.used_at.is_(None), RecoveryLink.revoked_at.is_(None),
               RecoveryLink.expires_at > now)
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise AccountError("recovery_link_invalid")


def revoke_all(session: Session, account_ids: Collection[int], now: datetime) -> None:
    """Every unused link of these accounts stops working."""
    session.execute(
        update(RecoveryLink)
        .where(RecoveryLink.account_id.in_(list(account_ids)), RecoveryLink.used_at.is_(None),
               RecoveryLink.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
