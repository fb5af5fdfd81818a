"""A dependency that does not answer (the database, Redis) is a 503 with ``Retry-After``, never a 500.

At the protocol endpoints the body is JSON with RFC 6749's ``temporarily_unavailable``
(§4.1.2.1, used at every endpoint so that a client library sees a code it knows); on
pages a readable page. One failure is one line in the log (its kind, the request's
method and path), not a traceback: an outage of a minute must not bury the log.

Nothing is retried here: the request's unit of work was rolled back, and the client
retries after ``Retry-After`` seconds. SQLAlchemy invalidates the pool when a
connection was found dead, so the next request opens fresh connections and the
instance recovers by itself once the database answers again (no restart).
"""

from __future__ import annotations

import logging

from flask import Response, jsonify, make_response, render_template, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import exc as sa

from idp.extensions import db
from idp.sharedstate import SharedStateUnavailable

log = logging.getLogger("idp.web")

RETRY_AFTER_SECONDS = 5
PROTOCOL_PATHS = ("/token", "/userinfo", "/introspect", "/revoke", "/par")
PROTOCOL_PREFIXES = ("/connect/register",)


def dependency_of(exc: BaseException) -> str | None:
    """``"database"`` or ``"redis"`` when ``exc`` says that dependency does not answer, else None."""
    if isinstance(exc, SharedStateUnavailable):
        return "redis"
    if isinstance(exc, sa.TimeoutError):  # no pooled connection came free in time
        return "database"
    if isinstance(exc, sa.OperationalError):  # refused, dropped, shut down, deadlock, serialization
        return "database"
    if isinstance(exc, sa.DBAPIError) and exc.connection_invalidated:
        return "database"
    if isinstance(exc, sa.PendingRollbackError | sa.ResourceClosedError) and isinstance(
        exc.__cause__ or exc.__context__, sa.DBAPIError
    ):
        return "database"
    return None


def _protocol() -> bool:
    return request.path in PROTOCOL_PATHS or request.path.startswith(PROTOCOL_PREFIXES)


def answer(exc: BaseException) -> Response | None:
    """The 503 for ``exc`` when it is an unavailable dependency, else None (not ours to answer)."""
    dependency = dependency_of(exc)
    if dependency is None:
        return None
    log.warning(
        "%s unavailable on %s %s (%s): answered 503", dependency, request.method, request.path, type(exc).__name__
    )
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001  (the connection is gone; the pool has already discarded it)
        pass
    if _protocol():
        response = jsonify(
            error="temporarily_unavailable",
            error_description="The service is temporarily unavailable. Retry later.",
        )
        response.status_code = 503
    else:
        message = _l("The service is temporarily unavailable. Please try again in a few moments.")
        if dependency == "redis":  # only what checks a password or code needs it (SECURITY.md, "Faults")
            message = _l(
                "Signing in and checking codes are temporarily unavailable. Please try again in a few moments. "
                "If you are already signed in, you can go on."
            )
        response = make_response(render_template("error.html", message=message, code="503"), 503)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response.headers["Cache-Control"] = "no-store"
    return response
