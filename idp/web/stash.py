"""Values carried across the one redirect after a POST (the POST answers 303, the GET shows).

What a citizen or an officer typed, so the form comes back filled in beside its
errors; a registration number to show after pre-registration; a registration
sheet whose initial password is shown once (PRODUCT.md rule 5).

They travel in the form-session cookie (Flask's signed session), which every
instance and worker of the provider reads alike, so nothing needs a shared
store between the POST and the GET. Each value is sealed (Fernet, with a key
derived from ``server.secret_key`` for this purpose alone), so the cookie shows
nothing to whoever sees it, and dated by the provider's clock, so a value older
than its time to live is dropped. Passwords typed into a form are never kept.

A value shown once (``keep_once``/``take_once``: a registration sheet with its
initial password) does not live in the cookie at all: it is sealed into the
shared state (every instance reads it) under a random id, and the cookie holds
only that id. Taking it removes it there in the same step, so a replayed copy
of an earlier cookie finds nothing (PRODUCT.md rules 5 and 11; ASVS 5.0 V6.4.1).
"""

from __future__ import annotations

import json
import zlib
from datetime import date, datetime

from cryptography.fernet import Fernet, InvalidToken
from flask import session as form_session

from idp.runtime import runtime
from idp.security.sealing import derive_key
from idp.security.secrets import new_secret

LABEL = "idp/web-stash/v1"
SESSION_KEY = "stash"
#: Long enough to read an error and fix the form; a sheet is shown at once after its POST.
TTL_SECONDS = 15 * 60


def _fernet() -> Fernet:
    return Fernet(derive_key(runtime().settings.server.secret_key, LABEL))


def _now() -> int:
    return int(runtime().now().timestamp())


def _plain(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot keep a {type(value).__name__}")


def keep(kind: str, value: dict) -> None:
    """Keep ``value`` (JSON data; dates become ISO strings) for the next request, replacing any earlier one."""
    data = zlib.compress(json.dumps(value, default=_plain, ensure_ascii=False).encode("utf-8"))
    slots = dict(form_session.get(SESSION_KEY) or {})
    slots[kind] = _fernet().encrypt_at_time(data, _now()).decode("ascii")
    form_session[SESSION_KEY] = slots


def peek(kind: str, ttl: int = TTL_SECONDS) -> dict | None:
    """The value kept under ``kind``, left in place (a page that may be reloaded)."""
    token = (form_session.get(SESSION_KEY) or {}).get(kind)
    if not isinstance(token, str):
        return None
    try:
        data = _fernet().decrypt_at_time(token.encode("ascii"), ttl, _now())
        value = json.loads(zlib.decompress(data))
    except (InvalidToken, ValueError, zlib.error):
        drop(kind)
        return None
    return value if isinstance(value, dict) else None


def take(kind: str, ttl: int = TTL_SECONDS) -> dict | None:
    """The value kept under ``kind``, removed: shown once."""
    value = peek(kind, ttl)
    drop(kind)
    return value


def drop(kind: str) -> None:
    slots = dict(form_session.get(SESSION_KEY) or {})
    if slots.pop(kind, None) is not None:
        if slots:
            form_session[SESSION_KEY] = slots
        else:
            form_session.pop(SESSION_KEY, None)


def _once_key(ident: str) -> str:
    return f"once:{ident}"


def keep_once(kind: str, value: dict, ttl: int = TTL_SECONDS) -> None:
    """Keep ``value`` server-side for one ``take_once``; the cookie's slot holds only its id.
    Any value still waiting in that slot is discarded first."""
    discard_once(kind)
    ident = new_secret(24)
    data = zlib.compress(json.dumps(value, default=_plain, ensure_ascii=False).encode("utf-8"))
    sealed = _fernet().encrypt_at_time(data, _now()).decode("ascii")
    runtime().shared.put(_once_key(ident), sealed, ttl)
    keep(kind, {"once": ident})


def _unseal_once(sealed: str | None, ttl: int) -> dict | None:
    if sealed is None:
        return None
    try:
        value = json.loads(zlib.decompress(_fernet().decrypt_at_time(sealed.encode("ascii"), ttl, _now())))
    except (InvalidToken, ValueError, zlib.error):
        return None
    return value if isinstance(value, dict) else None


def _once_id(slot: dict | None) -> str | None:
    ident = slot.get("once") if slot else None
    return ident if isinstance(ident, str) else None


def peek_once(kind: str, ttl: int = TTL_SECONDS) -> dict | None:
    """The value kept by ``keep_once``, left in place (a page shown again after a wrong code)."""
    ident = _once_id(peek(kind, ttl))
    return _unseal_once(runtime().shared.get(_once_key(ident)), ttl) if ident else None


def take_once(kind: str, ttl: int = TTL_SECONDS) -> dict | None:
    """The value kept by ``keep_once`` under ``kind``, removed from the shared state and the cookie:
    of any number of requests carrying the same cookie, one gets it."""
    ident = _once_id(take(kind, ttl))
    return _unseal_once(runtime().shared.take(_once_key(ident)), ttl) if ident else None


def discard_once(kind: str) -> None:
    """Forget a value kept by ``keep_once`` without showing it (a console session that ended)."""
    ident = _once_id(take(kind))
    if ident:
        runtime().shared.take(_once_key(ident))
