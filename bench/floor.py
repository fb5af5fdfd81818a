"""The floor of this stack for the code exchange: what ``POST /token`` costs with nothing but
gunicorn, bare Flask, psycopg and joserfc. A benchmark reference, never part of the provider.

``bench/run --race --floor`` serves it at ``POST /_ref/token`` in the same gunicorn workers as the
provider, on codes the provider's own ``/authorize`` issued, and measures it like ours (gunicorn's
and PostgreSQL's CPU per exchange) against the peer's exchange. It does the exchange's essential
work and nothing else:

* the client from a per-worker copy, its secret checked against the stored digest in constant time;
* the code claimed and loaded with its account and consent in **one** statement: the provider's
  own claim (``codes._CLAIM_EXCHANGE``: client, unused, unexpired, the same ``redirect_uri``, the
  S256 challenge of the verifier) compiled once to SQL text, prepared on a psycopg connection per thread;
* an RS256 ID token with the same claims as ours (the provider's ``user_claims``), signed by joserfc
  with the provider's current key;
* the token row inserted with the provider's columns (its released claim names included) and a
  durable ``COMMIT``.

What it leaves out is what the provider adds around that work: Authlib's request and grant
machinery, SQLAlchemy's execution path and ORM objects, the gate, the metrics, access events and
security headers, Flask's session and the provider's hooks, a refusal's answers (a claim that
fails is one ``invalid_grant``, no reuse detection), the client's status and secret rotation,
``offline_access`` (no refresh token is ever issued: the benchmark's scope does not ask for one),
and the account columns that scope does not release. So the figure is a lower bound for any
exchange written on these parts, not a design: it tells how much of ours' cost is the stack and
how much is what the provider and its libraries add. The signing key comes from the provider's
key ring as ours' does (a ``stat`` of the ring per call, so a rotation on another instance is seen).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import psycopg
from authlib.oidc.core.util import create_half_hash
from flask import Flask, jsonify, request
from joserfc import jwt
from psycopg.rows import namedtuple_row
from psycopg.types.json import Json
from sqlalchemy.dialects.postgresql.psycopg import dialect as psycopg_dialect
from sqlalchemy.engine import make_url

from idp.accounts.models import Account
from idp.accounts.states import LIVE_STATES
from idp.authorizations import codes
from idp.authorizations.releases import names as released_names
from idp.authorizations.tokens import new_token_value
from idp.oidc.claims import Subject, user_claims
from idp.oidc.grants import _s256
from idp.security.secrets import digest, matches_digest, new_secret

PATH = "/_ref/token"


def _claim_statement() -> tuple[str, dict]:
    """The provider's own claim (``codes._CLAIM_EXCHANGE``: its ``WHERE`` and its ``SET``), compiled once
    for psycopg, in a CTE that returns the code with the account columns the benchmark's scope
    releases and the consent; and the compiled statement's fixed parameters (the method ``S256``)."""
    code = codes._code_table
    claim = codes._CLAIM_EXCHANGE.returning(
        code.c.account_id, code.c.client_pk, code.c.sid, code.c.scope, code.c.nonce, code.c.auth_time, code.c.acr,
        code.c.amr,
    ).compile(dialect=psycopg_dialect())
    fixed = {name: value for name, value in claim.params.items() if value is not None}
    return f"""
WITH claimed AS ({claim})
SELECT claimed.*, account.state, account.is_test, account.identifier, account.family_name, account.given_name,
       account.birth_date, account.locale, account.email, account.email_verified, consent.scopes AS consented
FROM claimed JOIN account ON account.id = claimed.account_id
LEFT JOIN consent ON consent.account_id = claimed.account_id AND consent.client_pk = claimed.client_pk
""", fixed


_CLAIM, _CLAIM_FIXED = _claim_statement()

_INSERT = """
INSERT INTO token (family_id, client_pk, account_id, sid, scope, access_digest, refresh_digest, issued_at,
                   access_expires_at, refresh_expires_at, auth_time, acr, amr, released_claims)
VALUES (%(family_id)s, %(client_pk)s, %(account_id)s, %(sid)s, %(scope)s, %(access_digest)s, NULL, %(now)s,
        %(access_expires_at)s, NULL, %(auth_time)s, %(acr)s, %(amr)s, %(released_claims)s)
"""

_CLIENT = "SELECT * FROM client WHERE client_id = %s"


class _Account:
    """The account columns of the claimed row, with the two properties ``user_claims`` reads. Only the
    columns that ``openid profile email`` (the benchmark's scope) releases are selected: a floor selects
    no more than it needs (ours loads the whole account); another scope would need more of them."""

    def __init__(self, row):
        self.__dict__.update(row._asdict())
        self.id = row.account_id
        self.is_live = row.state in LIVE_STATES

    display_name = property(Account.display_name.fget)  # the model's own rule, on these columns


def add_route(app: Flask, idp_app) -> None:
    """Serve the floor at ``PATH`` on ``app`` (the benchmark's bare Flask app), for the provider ``idp_app``."""

    rt = idp_app.extensions["idp"]
    url = make_url(idp_app.config["SQLALCHEMY_DATABASE_URI"])
    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    access_seconds = rt.settings.tokens.access_token_seconds
    id_token_seconds = rt.settings.tokens.id_token_seconds
    local = threading.local()
    clients: dict[str, object] = {}

    def connection() -> psycopg.Connection:
        conn = getattr(local, "conn", None)
        if conn is None or conn.closed:
            conn = local.conn = psycopg.connect(conninfo, row_factory=namedtuple_row)
        return conn

    def refuse(error: str, status: int = 400):
        response = jsonify(error=error)
        response.status_code = status
        return response

    @app.post(PATH)
    def token():
        auth = request.authorization
        if auth is None or auth.type != "basic" or request.form.get("grant_type") != "authorization_code":
            return refuse("invalid_request")
        conn = connection()
        client = clients.get(auth.username)
        if client is None:
            # Kept for the worker's life, unchecked afterwards (no suspension, no rotation): a floor, not a design.
            client = conn.execute(_CLIENT, (auth.username,)).fetchone()
            conn.rollback()
            if client is not None:
                clients[auth.username] = client
        if client is None or not matches_digest(auth.password or "", client.secret_digest):
            return refuse("invalid_client", 401)
        try:
            return exchange(conn, client, request.form)
        except BaseException:
            conn.rollback()  # never leave a claim, or an aborted transaction, on the thread's connection
            raise

    def exchange(conn: psycopg.Connection, client, form):
        now = datetime.now(UTC).replace(tzinfo=None)  # naive UTC, as the provider's columns keep it
        family_id = new_secret(24)
        row = conn.execute(_CLAIM, {
            **_CLAIM_FIXED, "now": now, "claimed_at": now, "new_family_id": family_id,
            "b_code_digest": digest(form.get("code", "")), "b_client_pk": client.id,
            "b_redirect_uri": form.get("redirect_uri", ""), "b_code_challenge": _s256(form.get("code_verifier", "")),
        }, prepare=True).fetchone()
        if row is None:
            conn.rollback()
            return refuse("invalid_grant")
        access_token = new_token_value()
        subject = Subject(_Account(row), client, row.consented)
        issued_at = int(now.replace(tzinfo=UTC).timestamp())
        claims = {
            "iss": rt.issuer, "aud": client.client_id, "iat": issued_at, "exp": issued_at + id_token_seconds,
            "sid": row.sid, "auth_time": int(row.auth_time.replace(tzinfo=UTC).timestamp()), "nonce": row.nonce,
            "acr": row.acr, "amr": row.amr, "at_hash": create_half_hash(access_token, "RS256").decode(),
        }
        released = user_claims(subject, row.scope, rt.pairwise_secret)
        claims.update(released)
        key = rt.keyring.current("RS256")
        id_token = jwt.encode({"alg": "RS256", "kid": key.kid, "typ": "JWT"}, claims, key)
        conn.execute(_INSERT, {
            "family_id": family_id, "client_pk": client.id, "account_id": row.account_id, "sid": row.sid,
            "scope": row.scope, "access_digest": digest(access_token), "now": now,
            "access_expires_at": now + timedelta(seconds=access_seconds), "auth_time": row.auth_time,
            "acr": row.acr, "amr": Json(row.amr), "released_claims": released_names(list(released)),
        }, prepare=True)
        conn.commit()
        response = jsonify(access_token=access_token, token_type="Bearer", expires_in=access_seconds,
                           scope=row.scope, id_token=id_token)
        response.headers["Cache-Control"] = "no-store"
        return response
