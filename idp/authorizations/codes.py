"""Authorization codes: issued at authorize, exchanged once at the token endpoint, kept as digests.

A code is single use (RFC 6749 §4.1.2): claiming it is one conditional ``UPDATE``
whose row count decides, so two concurrent exchanges cannot both win, and a code
used again revokes everything its first use issued (``revoke_code_family``). A
nonce is used once per client (OIDC Core §15.5.2, ``nonce_used``).

On PostgreSQL a code is claimed and loaded with its holder in one statement
(``claim_exchange``): the ``UPDATE`` carries every condition of a good exchange
(client, unused, unexpired, the same ``redirect_uri``, the PKCE S256 challenge
of the verifier), so a request that would fail a check claims nothing and the
code stays as it was. Only when nothing is claimed does the exchange read the
code again (``find_code``) to tell reuse, which revokes, from a failed check.

The statements are built once per process with bind parameters (``_INSERT_CODE``,
``_CLAIM_WITH_HOLDER``, ``_CODE_WITH_HOLDER``, ``_CLAIM_CODE``): building a
statement and its cache key on every call cost more than PostgreSQL spends
running it (bench/README.md, "Race").
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import bindparam, event, insert, select, update
from sqlalchemy.orm import Session, aliased

from idp.accounts.models import Account
from idp.security.secrets import digest, new_secret

from .models import AuthorizationCode, Consent
from .tokens import consent_of, revoke_family


def store_code(
    session: Session,
    code: str,
    *,
    client_pk: int,
    account_id: int,
    sid: str,
    redirect_uri: str,
    scope: str,
    nonce: str | None,
    code_challenge: str,
    code_challenge_method: str,
    auth_time: datetime,
    acr: str,
    amr: list[str],
    now: datetime,
    lifetime: int,
) -> None:
    """Keep a new code as its digest, with how the citizen signed in (``auth_time``, ``acr``, ``amr``):
    one Core ``INSERT`` built once, sent at once (no ORM object, no flush at the commit)."""
    session.execute(
        _INSERT_CODE,
        {
            "code_digest": digest(code), "client_pk": client_pk, "account_id": account_id, "sid": sid,
            "redirect_uri": redirect_uri, "scope": scope, "nonce": nonce, "code_challenge": code_challenge,
            "code_challenge_method": code_challenge_method, "auth_time": auth_time, "acr": acr, "amr": list(amr),
            "created_at": now, "expires_at": now + timedelta(seconds=lifetime),
        },
    )
    session.info.get(_UNUSED_NONCES, set()).discard((client_pk, nonce))


#: No ``RETURNING``: nothing reads the new row's id back.
_INSERT_CODE = insert(AuthorizationCode.__table__).inline()


_NONCE_USED = (
    select(AuthorizationCode.id)
    .where(AuthorizationCode.client_pk == bindparam("client_pk"), AuthorizationCode.nonce == bindparam("nonce"))
    .limit(1)
)
#: (client_pk, nonce) pairs found unused in the session's current transaction (``session.info``).
_UNUSED_NONCES = "idp_unused_nonces"


def nonce_used(session: Session, client_pk: int, nonce: str | None) -> bool:
    """Did this client already get a code for ``nonce``? (OIDC Core §15.5.2: a nonce is used once.)

    Authlib checks at validation and ``idp.oidc.authorize.issue`` again just before the code is
    stored (the request may be answered later, in another request). When both happen in one
    transaction, the second answer is the first's: a nonce found unused is remembered until the
    transaction ends (commit, rollback, close, a savepoint's end) or a code is stored with it."""
    if not nonce:
        return False
    unused = session.info.setdefault(_UNUSED_NONCES, set())
    if (client_pk, nonce) in unused:
        return False
    if session.scalar(_NONCE_USED, {"client_pk": client_pk, "nonce": nonce}) is not None:
        return True
    unused.add((client_pk, nonce))
    return False


@event.listens_for(Session, "after_transaction_end")
def _forget_unused_nonces(session, transaction) -> None:
    session.info.pop(_UNUSED_NONCES, None)


_CODE_WITH_HOLDER = (
    select(AuthorizationCode, Account, Consent.scopes)
    .join(Account, Account.id == AuthorizationCode.account_id)
    .outerjoin(*consent_of(AuthorizationCode.account_id, AuthorizationCode.client_pk))
    .where(AuthorizationCode.code_digest == bindparam("code_digest"), AuthorizationCode.client_pk == bindparam("client_pk"))
)

_CLAIM_CODE = (
    update(AuthorizationCode)
    .where(AuthorizationCode.id == bindparam("code_id"), AuthorizationCode.consumed_at.is_(None))
    .values(consumed_at=bindparam("claimed_at"), family_id=bindparam("new_family_id"))
    .execution_options(synchronize_session=False)
)


_code_table = AuthorizationCode.__table__
_CLAIM_EXCHANGE = (
    update(_code_table)
    .where(
        _code_table.c.code_digest == bindparam("b_code_digest"),
        _code_table.c.client_pk == bindparam("b_client_pk"),
        _code_table.c.consumed_at.is_(None),
        _code_table.c.expires_at > bindparam("now"),
        _code_table.c.redirect_uri == bindparam("b_redirect_uri"),
        _code_table.c.code_challenge_method == "S256",
        _code_table.c.code_challenge == bindparam("b_code_challenge"),
    )
    .values(consumed_at=bindparam("claimed_at"), family_id=bindparam("new_family_id"))
)
_CLAIMED = _CLAIM_EXCHANGE.returning(*_code_table.c).cte("claimed")
_claimed_code = aliased(AuthorizationCode, _CLAIMED)
_CLAIM_WITH_HOLDER = (
    select(_claimed_code, Account, Consent.scopes)
    .join(Account, Account.id == _claimed_code.account_id)
    .outerjoin(*consent_of(_claimed_code.account_id, _claimed_code.client_pk))
)


def claim_exchange(
    session: Session, code: str, client_pk: int, *, redirect_uri: str, code_challenge: str, now: datetime
) -> tuple[AuthorizationCode, Account, str | None, str] | None:
    """Claim the code for an exchange that passes every check, and load it with its citizen's
    account and current consent: one statement on PostgreSQL (a data-modifying CTE). Returns the
    code, account, consent and the new token family id, or None when nothing was claimed: the code
    is unknown, another client's, used, expired, or the ``redirect_uri`` or the S256 challenge of
    the verifier differs. Then the code is left exactly as it was, and the caller reads it with
    ``find_code`` to answer (and to revoke on reuse).

    SQLite has no data-modifying CTE: it claims with one ``UPDATE`` and loads with ``find_code``
    (two statements, the same outcome)."""
    family_id = new_secret(24)
    params = {
        "b_code_digest": digest(code), "b_client_pk": client_pk, "now": now, "b_redirect_uri": redirect_uri,
        "b_code_challenge": code_challenge, "claimed_at": now, "new_family_id": family_id,
    }
    if session.get_bind().dialect.name == "postgresql":
        row = session.execute(_CLAIM_WITH_HOLDER, params).first()
        return (*row, family_id) if row is not None else None
    if session.execute(_CLAIM_EXCHANGE, params).rowcount != 1:
        return None
    found = find_code(session, code, client_pk)
    return (*found, family_id) if found is not None else None


def find_code(session: Session, code: str, client_pk: int) -> tuple[AuthorizationCode, Account, str | None] | None:
    """The code issued to this client, with its citizen's account and current consent, in one statement."""
    row = session.execute(_CODE_WITH_HOLDER, {"code_digest": digest(code), "client_pk": client_pk}).first()
    return tuple(row) if row is not None else None


def claim_code(session: Session, code: AuthorizationCode, now: datetime) -> str | None:
    """Mark the code used; returns the new token family id, or None if it was already used."""
    family_id = new_secret(24)
    result = session.execute(_CLAIM_CODE, {"code_id": code.id, "claimed_at": now, "new_family_id": family_id})
    if result.rowcount != 1:
        return None
    return family_id


def revoke_code_family(session: Session, code: AuthorizationCode, now: datetime) -> None:
    """A code used twice: revoke everything its first use issued (RFC 6749 §4.1.2)."""
    current = session.scalar(select(AuthorizationCode.family_id).where(AuthorizationCode.id == code.id))
    revoke_family(session, current, now)
