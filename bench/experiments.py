"""``bench/run --experiment NAME``: try a suggested hot-path change without touching ``idp/``.

Each experiment patches the provider in the benchmark's worker processes only
(``BENCH_EXPERIMENTS=name,name``), so that a suggestion's gain can be measured
before anyone edits the code. These are sketches that keep the provider's
behaviour on the benchmark's paths, not reviewed replacements:

* ``no_pre_ping``   engine without ``pool_pre_ping`` (idp/app.py ``_engine_options``):
                    one round trip less per request.
* ``client_cache``  clients kept per worker for 10 s as detached snapshots
                    (idp/clients/service.py ``find_active``): a suspension then takes
                    up to 10 s to bite, a policy decision, not a free win.
* ``release_prebuilt`` the access-history upsert (idp/authorizations/releases.py ``record``,
                    at every ID token and userinfo answer) as one Core statement on the
                    table, built once per process with bind parameters, instead of an
                    ORM-enabled ``insert(ClaimRelease).values(...).on_conflict_do_update``
                    built anew per call: the same row, the same transaction.
* ``prebuilt_statements`` the exchange's lookups (client by id, code with account and
                    consent) and its claim of the code built once per process with bind
                    parameters (idp/clients/service.py ``find``, idp/authorizations/codes.py
                    ``find_code`` and ``claim_code``): the same SQL, without building each
                    statement and its cache key on every call.
* ``code_claim_after_checks`` the exchange as it was before the one-statement claim
                    (idp/authorizations/codes.py ``claim_exchange`` made to claim nothing):
                    the code read with its holder by a SELECT, then claimed by an UPDATE
                    after Authlib's checks. Not a proposal: the "before" of a change made,
                    to measure it paired (a positive change is what the claim saves).
* ``session_account_apart`` the sign-in session read alone and its account by a second
                    lookup (idp/sessions/service.py ``find`` as it was): the "before" of
                    the joined read, authorize 5 statements instead of 4.
* ``introspection_apart`` the introspected token read alone and its holder by a second
                    SELECT (idp/oidc/endpoints.py ``Introspection`` as it was): the "before"
                    of the joined read.
* ``grant_built_per_call`` userinfo's token lookup (idp/authorizations/tokens.py
                    ``find_access_grant``) built anew on every call, as it was: the "before"
                    of building it once with a bind parameter.
* ``code_added_to_orm`` authorize's new code kept as an ORM object and flushed at the commit
                    (idp/authorizations/codes.py ``store_code`` as it was), instead of one Core
                    ``INSERT`` built once: the "before" of that change.
* ``consent_built_per_call`` the consent read at authorize (idp/authorizations/consent.py
                    ``granted_scopes``) built anew on every call, as it was: the "before".
* ``insert_returning`` the code and token INSERTs with ``RETURNING id``, as they were (SQLAlchemy
                    adds it to a single-row INSERT unless told the id is not wanted): the "before".
* ``no_release``    no access-history write at all. Not a proposal (the history is a
                    product rule): the upper bound of what any cheaper form can save.

(Two more were measured and adopted, so they are gone from here: ``userinfo_join``,
one SELECT for token, client and account behind userinfo, -21..-29 % CPU per
userinfo request; and ``code_join``, the code read with its account in one SELECT,
token 5 statements to 4, -4..-7 % CPU per token request.)
"""

from __future__ import annotations

import os
import threading
import time

KNOWN = {"no_pre_ping", "client_cache", "release_prebuilt", "prebuilt_statements", "no_release",
         "code_claim_after_checks", "session_account_apart", "introspection_apart",
         "grant_built_per_call", "code_added_to_orm", "consent_built_per_call", "insert_returning"}
#: measured alone only: not part of ``all`` (it removes behaviour, or puts back what a change removed)
BOUNDS = {"no_release", "code_claim_after_checks", "session_account_apart", "introspection_apart",
          "grant_built_per_call", "code_added_to_orm", "consent_built_per_call", "insert_returning"}


def enabled() -> set[str]:
    names = {n.strip() for n in os.environ.get("BENCH_EXPERIMENTS", "").split(",") if n.strip()}
    if "all" in names:
        names = set(KNOWN) - BOUNDS
    unknown = names - KNOWN - {"all"}
    if unknown:
        raise SystemExit(f"unknown experiment(s): {', '.join(sorted(unknown))}; known: {', '.join(sorted(KNOWN))}")
    return names


#: which endpoints each experiment changes (bench/hotpath.py measures only those)
AFFECTS = {
    "no_pre_ping": ("authorize", "token", "userinfo"),
    "client_cache": ("authorize", "token"),
    "release_prebuilt": ("token", "userinfo"),
    "prebuilt_statements": ("authorize", "token"),
    "no_release": ("token", "userinfo"),
    "code_claim_after_checks": ("token",),
    "session_account_apart": ("authorize",),
    "introspection_apart": ("introspect",),
    "grant_built_per_call": ("userinfo",),
    "code_added_to_orm": ("authorize",),
    "consent_built_per_call": ("authorize",),
    "insert_returning": ("authorize", "token"),
}


def apply(names: set[str]):
    """Patch (before ``create_app`` runs, for ``no_pre_ping``); returns a function that undoes it."""
    undo = []

    def patch(obj, attr, value):
        undo.append((obj, attr, getattr(obj, attr)))
        setattr(obj, attr, value)

    def revert():
        while undo:
            obj, attr, value = undo.pop()
            setattr(obj, attr, value)

    if "no_pre_ping" in names:
        import idp.app

        original = idp.app._engine_options

        def without_pre_ping(settings):
            options = dict(original(settings))
            options.pop("pool_pre_ping", None)
            return options

        patch(idp.app, "_engine_options", without_pre_ping)

    if "client_cache" in names:
        from sqlalchemy import inspect

        from idp.clients import service
        from idp.clients.models import Client

        ttl = 10.0
        cache: dict[str, tuple[float, Client | None]] = {}
        lock = threading.Lock()
        original_find_active = service.find_active

        def snapshot(client: Client) -> Client:
            # A transient copy: never attached to a session, so it never expires or lazy-loads.
            copy = Client()
            for attr in inspect(Client).column_attrs:
                setattr(copy, attr.key, getattr(client, attr.key))
            return copy

        def find_active(session, client_id):
            now = time.monotonic()
            hit = cache.get(client_id)
            if hit is not None and hit[0] > now:
                return hit[1]
            client = original_find_active(session, client_id)
            value = snapshot(client) if client is not None else None
            with lock:
                cache[client_id] = (now + ttl, value)
            return value

        patch(service, "find_active", find_active)

    if "release_prebuilt" in names and "no_release" not in names:
        from sqlalchemy import bindparam
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        from idp.authorizations import releases
        from idp.authorizations.models import ClaimRelease

        table = ClaimRelease.__table__
        upsert = pg_insert(table).values(
            account_id=bindparam("account_id"), client_pk=bindparam("client_pk"), channel=bindparam("channel"),
            claims=bindparam("claims"), day=bindparam("day"), first_at=bindparam("now"), last_at=bindparam("now"),
            count=1,
        )
        upsert = upsert.on_conflict_do_update(
            index_elements=["account_id", "client_pk", "channel", "claims", "day"],
            set_={"last_at": upsert.excluded.last_at, "count": table.c.count + 1},
        )
        original_record = releases.record

        def record(session, account_id, client_pk, channel, claims, now):
            if session.get_bind().dialect.name != "postgresql":
                return original_record(session, account_id, client_pk, channel, claims, now)
            names = " ".join(sorted(set(claims) - releases.NOT_RECORDED))
            if names:
                session.execute(upsert, {"account_id": account_id, "client_pk": client_pk, "channel": channel,
                                         "claims": names, "day": now.date().isoformat(), "now": now})

        patch(releases, "record", record)

    if "prebuilt_statements" in names:
        from sqlalchemy import bindparam, select, update

        from idp.accounts.models import Account
        from idp.clients import service
        from idp.clients.models import Client
        from idp.authorizations import codes
        from idp.authorizations.models import AuthorizationCode, Consent
        from idp.security.secrets import digest, new_secret

        client_stmt = select(Client).where(Client.client_id == bindparam("client_id"))
        code_stmt = (
            select(AuthorizationCode, Account, Consent.scopes)
            .join(Account, Account.id == AuthorizationCode.account_id)
            .outerjoin(Consent, (Consent.account_id == AuthorizationCode.account_id)
                       & (Consent.client_pk == AuthorizationCode.client_pk))
            .where(AuthorizationCode.code_digest == bindparam("code_digest"),
                   AuthorizationCode.client_pk == bindparam("client_pk"))
        )
        claim_stmt = (
            update(AuthorizationCode)
            .where(AuthorizationCode.id == bindparam("code_id"), AuthorizationCode.consumed_at.is_(None))
            .values(consumed_at=bindparam("claimed_at"), family_id=bindparam("new_family"))
            .execution_options(synchronize_session=False)
        )

        def find(session, client_id):
            return session.scalar(client_stmt, {"client_id": client_id})

        def find_code(session, code, client_pk):
            row = session.execute(code_stmt, {"code_digest": digest(code), "client_pk": client_pk}).first()
            return tuple(row) if row is not None else None

        def claim_code(session, code, now):
            family_id = new_secret(24)
            result = session.execute(claim_stmt, {"code_id": code.id, "claimed_at": now, "new_family": family_id})
            return family_id if result.rowcount == 1 else None

        patch(service, "find", find)
        patch(codes, "find_code", find_code)
        patch(codes, "claim_code", claim_code)

    if "code_claim_after_checks" in names:
        from idp.authorizations import codes

        patch(codes, "claim_exchange", lambda *args, **kwargs: None)

    if "session_account_apart" in names:
        from sqlalchemy import select

        from idp.security.secrets import digest
        from idp.sessions import service as sessions
        from idp.sessions.models import SsoSession

        def find(session, secret, now, timeouts):
            if not secret or len(secret) > 128:
                return None
            sso = session.scalar(select(SsoSession).where(SsoSession.secret_digest == digest(secret)))
            if sso is None or not sessions.is_current(sso, now, timeouts):
                return None
            if now - sso.last_seen_at >= sessions.TOUCH_EVERY:
                sso.last_seen_at = now
            return sso, None  # idp.web.session.current_account then looks the account up

        patch(sessions, "find", find)

    if "introspection_apart" in names:
        from sqlalchemy import select

        from idp.accounts.models import Account
        from idp.authorizations import tokens
        from idp.authorizations.models import Consent
        from idp.clients.models import Client

        def find_grant(session, value):
            row = tokens.find_any(session, value, None)
            if row is None:
                return None
            holder = session.execute(
                select(Client, Account, Consent.scopes)
                .select_from(Client)
                .join(Account, Account.id == row.account_id)
                .outerjoin(Consent, (Consent.account_id == Account.id) & (Consent.client_pk == Client.id))
                .where(Client.id == row.client_pk)
            ).one()
            return (row, *holder)

        patch(tokens, "find_grant", find_grant)

    if "grant_built_per_call" in names:
        from sqlalchemy import select

        from idp.accounts.models import Account
        from idp.authorizations import tokens
        from idp.authorizations.models import Consent, Token
        from idp.clients.models import Client
        from idp.security.secrets import digest

        def find_access_grant(session, access_token):
            row = session.execute(
                select(Token, Client, Account, Consent.scopes)
                .join(Client, Client.id == Token.client_pk)
                .join(Account, Account.id == Token.account_id)
                .outerjoin(Consent, (Consent.account_id == Token.account_id) & (Consent.client_pk == Token.client_pk))
                .where(Token.access_digest == digest(access_token))
            ).first()
            return tuple(row) if row is not None else None

        patch(tokens, "find_access_grant", find_access_grant)

    if "code_added_to_orm" in names:
        from datetime import timedelta

        from idp.authorizations import codes
        from idp.authorizations.models import AuthorizationCode
        from idp.security.secrets import digest

        def store_code(session, code, *, client_pk, account_id, sid, redirect_uri, scope, nonce, code_challenge,
                       code_challenge_method, auth_time, acr, amr, now, lifetime):
            session.add(AuthorizationCode(
                code_digest=digest(code), client_pk=client_pk, account_id=account_id, sid=sid,
                redirect_uri=redirect_uri, scope=scope, nonce=nonce, code_challenge=code_challenge,
                code_challenge_method=code_challenge_method, auth_time=auth_time, acr=acr, amr=list(amr),
                created_at=now, expires_at=now + timedelta(seconds=lifetime),
            ))
            session.info.get(codes._UNUSED_NONCES, set()).discard((client_pk, nonce))

        patch(codes, "store_code", store_code)

    if "consent_built_per_call" in names:
        from sqlalchemy import select

        from idp.authorizations import consent
        from idp.authorizations.models import Consent
        from idp.clients import scopes as sc

        def granted_scopes(session, account_id, client_pk):
            row = session.scalar(select(Consent.scopes).where(Consent.account_id == account_id,
                                                              Consent.client_pk == client_pk))
            return set(sc.parse(row))

        patch(consent, "granted_scopes", granted_scopes)

    if "insert_returning" in names:
        from sqlalchemy import insert

        from idp.authorizations import codes, tokens
        from idp.authorizations.models import AuthorizationCode, Token

        patch(codes, "_INSERT_CODE", insert(AuthorizationCode.__table__))
        patch(tokens, "_INSERT_TOKEN", insert(Token.__table__))

    if "no_release" in names:
        from idp.authorizations import releases

        patch(releases, "record", lambda *args, **kwargs: None)
    return revert
