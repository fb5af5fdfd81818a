"""OpenID Connect Back-Channel Logout 1.0: telling agencies that a sign-in session ended.

Every way a session ends (sign-out, RP-initiated logout, the account page,
a password change that ends the other sessions, deletion, lapse, expiry) goes
through ``idp.lifecycle.access.end_sessions``, which queues (``idp.authorizations.logout``) in
the same transaction: one :class:`LogoutNotice` per agency that received a
token in that session and registered a ``backchannel_logout_uri``.

After the commit the :class:`Dispatcher` delivers them: a logout token (a JWT
signed like the agency's ID tokens, ``typ`` ``logout+jwt``, with ``iss``,
``aud``, ``iat``, ``exp``, ``jti``, ``sid``, ``sub`` and the logout event,
never a ``nonce``; spec §2.4) POSTed as ``logout_token`` (§2.5). A 2xx answer
delivers it; anything else, a timeout or a refused connection is recorded and
retried after the waits in ``logout.backchannel_retry_seconds`` by ``idp jobs
run``, then given up. The POST goes through the same ``idp.clients.remote.Fetcher``
as every other call to a URL an integrator chose: the host is resolved at each
attempt and must resolve to public addresses only (loopback too in development),
the connection goes to the checked address, and a host that resolves elsewhere
is a failed attempt like any other (recorded, retried, given up). Redirects are
not followed (a redirect could point anywhere). The same ``jti`` is sent on
every retry so the agency can drop a repeat. The logout token is never logged
nor recorded.

A notice is claimed for one attempt with a conditional ``UPDATE`` on
``claimed_until``, so the request's own attempt and the retry job, or two job
runs, never send it twice at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from joserfc import jwt
from sqlalchemy.orm import Session

from idp import metrics
from idp.accounts.models import Account
from idp.clients.models import Client
from idp.clients.remote import FetchError, Fetcher

from idp.authorizations import logout
from idp.authorizations.models import LogoutNotice

from . import claims as claim_rules

log = logging.getLogger("idp.logout")

EVENT = "http://schemas.openid.net/event/backchannel-logout"
TOKEN_LIFETIME = timedelta(minutes=2)


def logout_token(rt, client: Client, account: Account, notice: LogoutNotice, now: datetime) -> str:
    """The signed logout token for one notice (spec §2.4), with the agency's own ``sub``."""
    alg = client.id_token_signed_response_alg or "RS256"
    key = rt.keyring.current(alg)
    iat = int(now.timestamp())
    claims = {
        "iss": rt.issuer,
        "aud": client.client_id,
        "iat": iat,
        "exp": iat + int(TOKEN_LIFETIME.total_seconds()),
        "jti": notice.jti,
        "sid": notice.sid,
        "sub": claim_rules.subject_identifier(account, client, rt.pairwise_secret),
        "events": {EVENT: {}},
    }
    return jwt.encode({"alg": alg, "kid": key.kid, "typ": "logout+jwt"}, claims, key, algorithms=[alg])


def delivery_fetcher(settings) -> Fetcher:
    """The policy of delivery: public addresses only (loopback too in development), the
    configured timeout."""
    return Fetcher(
        allow_loopback_http=settings.server.development, timeout=settings.logout.backchannel_timeout_seconds
    )


def _post(fetcher: Fetcher, uri: str, token: str) -> str:
    """One delivery (spec §2.5); returns ``"delivered"`` or a short outcome for the record
    (``http 503``, ``timeout``, ``not a public address``...; never the token, never a body)."""
    try:
        status = fetcher.post_form(uri, {"logout_token": token})
    except FetchError as exc:
        return exc.cause
    if 200 <= status < 300:
        return "delivered"
    return f"http {status}"


def attempt(session: Session, rt, fetcher: Fetcher, notice_id: int, now: datetime) -> str | None:
    """Claim, send and record one attempt of one notice; returns its outcome, None when not due or
    another worker has it. Commits."""
    claimed = logout.claim(session, notice_id, now)
    session.commit()
    if not claimed:
        return None
    notice = session.get(LogoutNotice, notice_id)
    client = session.get(Client, notice.client_pk)
    account = session.get(Account, notice.account_id)
    client_id = client.client_id if client else "-"
    uri = client.backchannel_logout_uri if client else None
    token = logout_token(rt, client, account, notice, now) if uri and account else None
    session.commit()  # no transaction stays open while the agency answers
    if token is None:
        outcome = "no endpoint"
    else:
        outcome = _post(fetcher, uri, token)
    logout.record(session.get(LogoutNotice, notice_id), outcome, now, rt.settings.logout.backchannel_retry_seconds)
    session.commit()
    metrics.backchannel(outcome.replace(" ", "_"))
    log.info("back-channel logout notice %s to client %s: %s", notice_id, client_id, outcome)
    return outcome


class Dispatcher:
    """Sends queued notices once their transaction has committed: from a small thread pool (the
    citizen does not wait for agencies) or, when ``in_background`` is false, right away."""

    def __init__(self, app, session_of: Callable[[], Session], in_background: bool, fetcher: Fetcher):
        self._app = app
        self._session_of = session_of
        self._fetcher = fetcher
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="logout") if in_background else None

    def send(self, notice_ids: Iterable[int]) -> None:
        ids = list(notice_ids)
        if not ids:
            return
        if self._pool is None:
            self._deliver(ids)
        else:
            self._pool.submit(self._in_app_context, ids)

    def _in_app_context(self, ids: list[int]) -> None:
        with self._app.app_context():
            try:
                self._deliver(ids)
            except Exception:  # a background thread has no caller to tell: log, the retry job picks it up
                log.exception("back-channel logout delivery failed; `idp jobs run` retries it")
                self._session_of().rollback()

    def _deliver(self, ids: list[int]) -> None:
        rt = self._app.extensions["idp"]
        session = self._session_of()
        for notice_id in ids:
            attempt(session, rt, self._fetcher, notice_id, rt.now())

    def deliver_due(self, now: datetime) -> dict[str, int]:
        """The retry job: every notice due by ``now``. Returns a count per outcome."""
        rt = self._app.extensions["idp"]
        session = self._session_of()
        counts: dict[str, int] = {}
        for notice_id in logout.due(session, now):
            outcome = attempt(session, rt, self._fetcher, notice_id, now)
            if outcome is not None:
                key = outcome if outcome in ("delivered", "timeout") else outcome.split(":")[0]
                counts[key] = counts.get(key, 0) + 1
        return counts

    def wait(self) -> None:
        """Block until every background send has finished (shutdown, tests)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="logout")
