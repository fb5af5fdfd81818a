"""``GET /metrics``: the Prometheus text format (``idp.metrics``), for the operator's scraper only.

Exposure is configured in ``[metrics]``: an allow-list of client addresses (default loopback
only) and/or a bearer token from the environment (``IDP_METRICS_TOKEN``), compared in constant
time. An address outside the list gets 403; a missing or wrong token 401. The answer holds
counts, never a token, a name or an address.

``idp_ready{component}`` is asked at each scrape from ``readiness_probe(app)``: the callable
kept in ``app.extensions["idp.readiness"]`` (``{component: bool}``). Until the readiness check
of ``/readyz`` is wired there, ``basic_readiness`` asks the database and Redis itself.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from collections.abc import Callable

from flask import Blueprint, Flask, Response, abort, current_app, request
from sqlalchemy import text

from idp import metrics
from idp.extensions import db
from idp.runtime import runtime

bp = Blueprint("monitoring", __name__)
log = logging.getLogger("idp.web")

READINESS = "idp.readiness"


def basic_readiness() -> dict[str, bool]:
    """The database answers a query; Redis (when configured) answers a ping."""
    ready = {}
    try:
        db.session.execute(text("SELECT 1"))
        ready["database"] = True
    except Exception:  # any failure means not ready; the reason is the readiness check's to tell
        db.session.rollback()
        ready["database"] = False
    redis = getattr(runtime().shared, "_redis", None)
    if redis is not None:
        try:
            ready["redis"] = bool(redis.ping())
        except Exception:
            ready["redis"] = False
    return ready


def readiness_probe(app: Flask) -> Callable[[], dict[str, bool]]:
    return app.extensions.get(READINESS, basic_readiness)


def _address_allowed(allowed: list[str]) -> bool:
    if not allowed:
        return True
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return any(address in ipaddress.ip_network(n, strict=False) for n in allowed)


def _token_ok(expected: str) -> bool:
    if not expected:
        return True
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not presented:
        return False
    return hmac.compare_digest(presented.strip().encode(), expected.encode())


@bp.get("/metrics")
def scrape():
    settings = runtime().settings.metrics
    if not _address_allowed(settings.allow_from):
        abort(403)
    if not _token_ok(settings.token):
        return Response("", 401, {"WWW-Authenticate": 'Bearer realm="metrics"'})
    body = metrics.exposition(metrics.Readiness(readiness_probe(current_app)))
    return Response(body, 200, {"Content-Type": metrics.CONTENT_TYPE, "Cache-Control": "no-store"})
