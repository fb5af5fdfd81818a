"""Issuing, finding, rotating and revoking tokens, kept as digests.

Hot paths (the code exchange's INSERT, refresh, userinfo, introspection) run a
few statements each; claiming a refresh token is one conditional ``UPDATE``
whose row count decides, so two concurrent uses cannot both win. Codes are
``idp.authorizations.codes``.

Every change to one token family (a rotation, a revocation of the family) first
takes that family's lock (``lock_family``: a PostgreSQL advisory lock held until
the transaction ends). Concurrent uses of one refresh token then queue one after
the other instead of locking the family's rows in different orders (which
deadlocked), and a revocation that follows a rotation sees the token the
rotation issued (a statement's snapshot is taken after the lock is granted).

The hot statements are built once per process with bind parameters
(``_INSERT_TOKEN``, ``_ACCESS_GRANT``, ``_ANY_GRANT``): building a statement and
its cache key on every call cost more than PostgreSQL spends running it
(bench/README.md, "Race"). Ending access (an account, a sign-in session, a
consent) revokes tokens and closes the codes not yet exchanged together.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, insert, or_, select, update
from sqlalchemy.orm import Session

from idp.accounts.models import Account
from idp.clients.models import Client
from idp.security.secrets import digest, new_secret

from .models import AuthorizationCode, Consent, Token


def consent_of(account_id, client_pk):
    """The citizen's current consent to the client, outer-joined: the claims release rule reads it
    on every hot path without a round trip of its own."""
    return (Consent, (Consent.account_id == account_id) & (Consent.client_pk == client_pk))


def lock_family(session: Session, family_id: str) -> None:
    """Serialize changes to the family ``family_id`` until this transaction ends (PostgreSQL; SQLite
    serializes every writer already). Re-entrant within one transaction."""
    if session.get_bind().dialect.name != "postgresql":
        return
    key = int.from_bytes(hashlib.sha256(b"token-family:" + family_id.encode()).digest()[:8], "big", signed=True)
    session.execute(select(func.pg_advisory_xact_lock(key)))


def revoke_family(session: Session, family_id: str | None, now: datetime) -> int:
    if not family_id:
        return 0
    lock_family(session, family_id)
    result = session.execute(
        update(Token)
        .where(Token.family_id == family_id, Token.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


#: A token with its client, its account and the account's current consent to the client: what
#: userinfo and introspection judge and answer from, in one statement built once.
_GRANT = (
    select(Token, Client, Account, Consent.scopes)
    .join(Client, Client.id == Token.client_pk)
    .join(Account, Account.id == Token.account_id)
    .outerjoin(*consent_of(Token.account_id, Token.client_pk))
)
_ACCESS_GRANT = _GRANT.where(Token.access_digest == bindparam("value_digest"))
_ANY_GRANT = _GRANT.where(
    or_(Token.access_digest == bindparam("value_digest"), Token.refresh_digest == bindparam("value_digest"))
)


def find_access_grant(session: Session, access_token: str) -> tuple[Token, Client, Account, str | None] | None:
    """The token with its client, account and the current consent in one statement (the userinfo
    hot path), or None."""
    row = session.execute(_ACCESS_GRANT, {"value_digest": digest(access_token)}).first()
    return tuple(row) if row is not None else None


def find_grant(session: Session, value: str) -> tuple[Token, Client, Account, str | None] | None:
    """The token whose access or refresh value ``value`` is, with its client, account and the
    current consent, in one statement (introspection), or None."""
    row = session.execute(_ANY_GRANT, {"value_digest": digest(value)}).first()
    return tuple(row) if row is not None else None


def find_by_access(session: Session, access_token: str) -> Token | None:
    return session.scalar(select(Token).where(Token.access_digest == digest(access_token)))


def find_by_refresh(session: Session, refresh_token: str) -> Token | None:
    return session.scalar(select(Token).where(Token.refresh_digest == digest(refresh_token)))


def find_any(session: Session, value: str, hint: str | None) -> Token | None:
    d = digest(value)
    if hint == "refresh_token":
        return session.scalar(select(Token).where(Token.refresh_digest == d)) or find_by_access(session, value)
    return session.scalar(select(Token).where(or_(Token.access_digest == d, Token.refresh_digest == d)))


def kind_of(token: Token, value: str) -> str:
    """Which of the token's two values ``value`` is."""
    return "refresh_token" if token.refresh_digest == digest(value) else "access_token"


def claim_refresh(session: Session, token: Token, now: datetime) -> bool:
    """Rotate: mark the refresh token used. False when it was already rotated or revoked."""
    lock_family(session, token.family_id)
    result = session.execute(
        update(Token)
        .where(Token.id == token.id, Token.rotated_at.is_(None), Token.revoked_at.is_(None))
        .values(rotated_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def access_is_active(token: Token, now: datetime) -> bool:
    return token.revoked_at is None and token.access_expires_at > now


def refresh_is_active(token: Token, now: datetime) -> bool:
    return (
        token.refresh_digest is not None
        and token.revoked_at is None
        and token.rotated_at is None
        and token.refresh_expires_at is not None
        and token.refresh_expires_at > now
    )


def store(
    session: Session,
    *,
    family_id: str,
    client_pk: int,
    account_id: int,
    sid: str,
    scope: str,
    access_token: str,
    refresh_token: str | None,
    now: datetime,
    access_lifetime: timedelta,
    refresh_expires_at: datetime | None,
    auth_time: datetime,
    acr: str,
    amr: list[str],
    released_claims: str | None = None,
) -> None:
    """Insert the token at once, as one Core statement on the table: no ORM object and no flush
    at the commit (the caller never reads the row back). ``released_claims``: the claim names the
    ID token issued with it released, the access history's entry for this exchange
    (``idp.authorizations.releases``)."""
    session.execute(
        _INSERT_TOKEN,
        {
            "family_id": family_id,
            "client_pk": client_pk,
            "account_id": account_id,
            "sid": sid,
            "scope": scope,
            "access_digest": digest(access_token),
            "refresh_digest": digest(refresh_token) if refresh_token else None,
            "issued_at": now,
            "access_expires_at": now + access_lifetime,
            "refresh_expires_at": refresh_expires_at if refresh_token else None,
            "auth_time": auth_time,
            "acr": acr,
            "amr": list(amr),
            "released_claims": released_claims,
        },
    )


#: No ``RETURNING``: nothing reads the new row's id back.
_INSERT_TOKEN = insert(Token.__table__).inline()


def revoke_for_accounts(session: Session, account_ids: Collection[int], now: datetime) -> None:
    """Every token of these accounts dies, and every code not yet exchanged (marked used, with no
    family to revoke). Two statements however many accounts."""
    ids = list(account_ids)
    if not ids:
        return
    session.execute(
        update(Token)
        .where(Token.account_id.in_(ids), Token.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(AuthorizationCode)
        .where(AuthorizationCode.account_id.in_(ids), AuthorizationCode.consumed_at.is_(None))
        .values(consumed_at=now)
        .execution_options(synchronize_session=False)
    )


def revoke_for_sids(session: Session, sids: Collection[str], now: datetime) -> None:
    """Sign-in sessions ended: their tokens die, and so do codes not yet exchanged (marked used,
    with no family to revoke), so no token is issued for a session that is over. Two statements
    however many sessions end."""
    if not sids:
        return
    sids = list(sids)
    session.execute(
        update(Token)
        .where(Token.sid.in_(sids), Token.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(AuthorizationCode)
        .where(AuthorizationCode.sid.in_(sids), AuthorizationCode.consumed_at.is_(None))
        .values(consumed_at=now)
        .execution_options(synchronize_session=False)
    )


def new_token_value() -> str:
    return new_secret(32)


def revoke_for_client(session: Session, account_id: int, client_pk: int, now: datetime) -> list[str]:
    """Every token one agency holds for the account dies (consent withdrawn), and so does every code
    not yet exchanged, so nothing issued before the withdrawal becomes a token after it. Returns the
    sids of the sign-in sessions those tokens were issued in (for back-channel logout)."""
    sids = list(
        session.scalars(
            select(Token.sid).where(Token.account_id == account_id, Token.client_pk == client_pk).distinct()
        )
    )
    session.execute(
        update(Token)
        .where(Token.account_id == account_id, Token.client_pk == client_pk, Token.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(AuthorizationCode)
        .where(
            AuthorizationCode.account_id == account_id, AuthorizationCode.client_pk == client_pk,
            AuthorizationCode.consumed_at.is_(None),
        )
        .values(consumed_at=now)
        .execution_options(synchronize_session=False)
    )
    return sids


def revoke_refresh_families(session: Session, account_id: int, client_pk: int, now: datetime) -> int:
    """Offline access withdrawn: every token family of this agency and account that holds a refresh
    token is revoked, all of it, in one statement (RFC 9700 §4.14: a refresh token and the tokens
    issued with it go together). Returns how many tokens were revoked."""
    families = (
        select(Token.family_id)
        .where(Token.account_id == account_id, Token.client_pk == client_pk, Token.refresh_digest.is_not(None))
    )
    result = session.execute(
        update(Token)
        .where(Token.family_id.in_(families), Token.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount
