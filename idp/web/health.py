"""``GET /healthz`` (liveness) and ``GET /readyz`` (readiness) for load balancers and orchestrators.

Liveness answers 200 whenever the process serves HTTP, and touches nothing else:
restarting an instance because its database is down would not help. Readiness
runs the checks of ``idp.health`` and answers 200, or 503 naming what is
missing. Both are small JSON documents with no secret, no session cookie and
no caching; neither is throttled nor needs a CSRF token (they only read).
"""

from __future__ import annotations

from flask import Blueprint, jsonify

from idp.extensions import csrf, db
from idp.health import readiness
from idp.runtime import runtime

from .unavailable import RETRY_AFTER_SECONDS

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@csrf.exempt
def healthz():
    return jsonify(status="alive")


@bp.get("/readyz")
@csrf.exempt
def readyz():
    result = readiness(runtime(), db.engine)
    response = jsonify(result.as_json())
    if not result.ready:
        response.status_code = 503
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
