"""``GET /metrics``: the Prometheus text format (``idp.metrics``), for the operator's scraper only.

Exposure is configured in ``[metrics]``: an allow-list of client addresses (default loopback
only) and/or a bearer token from the environment (``IDP_METRICS_TOKEN``), compared in constant
time. An address outside the list gets 403; a missing or wrong token 401. The answer holds
counts, never a token, a name or an address.

``idp_ready{component}`` is asked at each scrape from ``readiness_probe(app)``: the checks of
``/readyz`` (``idp.health``: the database at the migrations' head, Redis when configured, the
signing keys), unless ``app.extensions["idp.readiness"]`` holds another ``{component: bool}`` callable.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from collections.abc import Callable

from flask import Blueprint, Flask, Response, abort, current_app, request

from idp.health import OK, readiness

from idp import metrics
from idp.extensions import db
from idp.runtime import runtime

bp = Blueprint("monitoring", __name__)
log = logging.getLogger("idp.web")

READINESS = "idp.readiness"


def current_readiness() -> dict[str, bool]:
    """The checks of ``/readyz`` (``idp.health``): ``{component: ready}``."""
    result = readiness(runtime(), db.engine)
    return {name: state == OK for name, state in result.checks.items()}


def readiness_probe(app: Flask) -> Callable[[], dict[str, bool]]:
    return app.extensions.get(READINESS, current_readiness)


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
