"""Creating, finding, binding and completing interactions (see the package docstring).

Every state change that two requests could race for is one conditional
``UPDATE`` whose row count decides: binding an unbound record, taking a pushed
request, completing. The browser binding and the ``request_uri`` are kept as
SHA-256 digests and compared by lookup, never in Python.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from idp.security.secrets import digest, new_secret

from .models import Interaction

#: The prefix of a pushed request's ``request_uri`` (RFC 9126 §2.2).
REQUEST_URI_PREFIX = "urn:ietf:params:oauth:request_uri:"
#: How long a finished or expired record is kept for support before ``purge`` removes it.
KEEP_AFTER = timedelta(days=1)

LOGIN = "login"
SECOND_FACTOR = "second_factor"
FIX = "fix"
CONSENT = "consent"


def new_browser_secret() -> str:
    return new_secret(32)


def start(
    session: Session, *, client_pk: int, params: dict, browser: str | None, start_sid: str,
    now: datetime, lifetime: timedelta,
) -> Interaction:
    """A record for a request that needs the citizen; bound to ``browser`` (its cookie value) when
    known, else unbound until the next request of the browser binds it."""
    interaction = Interaction(
        uid=new_secret(32), client_pk=client_pk, params=params,
        browser_digest=digest(browser) if browser else None,
        created_at=now, expires_at=now + lifetime, start_sid=start_sid, owed="", reasons=[],
    )
    session.add(interaction)
    session.flush()
    return interaction


def push(session: Session, *, client_pk: int, params: dict, now: datetime, lifetime: timedelta) -> tuple[Interaction, str]:
    """A pushed authorization request (RFC 9126): returns the record and its ``request_uri``."""
    handle = new_secret(32)
    interaction = Interaction(
        uid=new_secret(32), client_pk=client_pk, params=params, browser_digest=None,
        request_uri_digest=digest(handle), created_at=now, expires_at=now + lifetime, start_sid="",
        owed="", reasons=[],
    )
    session.add(interaction)
    session.flush()
    return interaction, REQUEST_URI_PREFIX + handle


def take_pushed(
    session: Session, request_uri: str, client_pk: int, browser: str, start_sid: str, now: datetime, lifetime: timedelta
) -> Interaction | None:
    """The pushed request named by ``request_uri``, for its own client, taken once and bound to this
    browser; None when unknown, another client's, expired or already used (RFC 9126 §4)."""
    if not isinstance(request_uri, str) or not request_uri.startswith(REQUEST_URI_PREFIX) or len(request_uri) > 200:
        return None
    found = digest(request_uri.removeprefix(REQUEST_URI_PREFIX))
    result = session.execute(
        update(Interaction)
        .where(
            Interaction.request_uri_digest == found, Interaction.client_pk == client_pk,
            Interaction.browser_digest.is_(None), Interaction.completed_at.is_(None), Interaction.expires_at > now,
        )
        .values(browser_digest=digest(browser), start_sid=start_sid, created_at=now, expires_at=now + lifetime)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return None
    return session.scalar(select(Interaction).where(Interaction.request_uri_digest == found))


def find(session: Session, uid: str, browser: str | None, now: datetime) -> Interaction | None:
    """The live record ``uid`` of this browser: not completed, not expired, bound to ``browser``.
    An unbound front-channel record (started by a cross-site POST) is bound to it here, once."""
    if not isinstance(uid, str) or not uid or len(uid) > 64 or not browser:
        return None
    interaction = session.scalar(select(Interaction).where(Interaction.uid == uid))
    if interaction is None or interaction.completed_at is not None or interaction.expires_at <= now:
        return None
    mine = digest(browser)
    if interaction.browser_digest is None and interaction.request_uri_digest is None:
        bound = session.execute(
            update(Interaction)
            .where(Interaction.id == interaction.id, Interaction.browser_digest.is_(None))
            .values(browser_digest=mine)
            .execution_options(synchronize_session=False)
        )
        session.refresh(interaction)
        if bound.rowcount != 1 and interaction.browser_digest != mine:
            return None
    if interaction.browser_digest != mine:
        return None
    return interaction


def owe(interaction: Interaction, owed: str, reasons: list[str] | tuple[str, ...] = ()) -> None:
    interaction.owed = owed
    interaction.reasons = list(reasons)


def consented(interaction: Interaction, now: datetime) -> None:
    interaction.consented_at = now


def complete(session: Session, interaction: Interaction, now: datetime) -> bool:
    """Mark it answered; False when another request answered it first (then nothing may be sent)."""
    result = session.execute(
        update(Interaction)
        .where(Interaction.id == interaction.id, Interaction.completed_at.is_(None))
        .values(completed_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 1:
        interaction.completed_at = now
        return True
    return False


def purge(session: Session, now: datetime) -> int:
    """Remove records finished or expired more than ``KEEP_AFTER`` ago (``idp jobs run``)."""
    cutoff = now - KEEP_AFTER
    result = session.execute(
        delete(Interaction)
        .where(or_(Interaction.expires_at <= cutoff, Interaction.completed_at <= cutoff))
        .execution_options(synchronize_session=False)
    )
    return result.rowcount
