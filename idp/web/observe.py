"""What each request leaves for the operator: one access event, its request id, its latency.

A WSGI middleware around the whole application (outermost, so it also sees what an
error handler or another middleware answered):

- takes the caller's ``X-Request-ID`` when well formed (``idp.logs.request_id_from``),
  else makes one, binds it to every record logged while the request is served, and
  returns it in the response's ``X-Request-ID``;
- logs one ``request`` event on ``idp.access``: method, endpoint (the route rule, such as
  ``/interaction/<uid>``, never the path: paths and queries can carry codes and hints),
  status, duration in milliseconds, and the agency's ``client_id`` once the Authlib
  edge knows it; never a header, a query or a body;
- observes the request latency per endpoint (``idp.metrics``);
- counts every OAuth / OpenID Connect error answer by endpoint and error code, wherever it
  was made (Authlib, a view, an error handler): a JSON body with ``error``, or a redirect
  to an agency whose query or fragment carries ``error``.
"""

from __future__ import annotations

import logging
import time
from urllib.parse import parse_qs, urlsplit

from flask import Flask, request

from idp import logs, metrics

access_log = logging.getLogger("idp.access")

ROUTE_KEY = "idp.route"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class Observe:
    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        logs.clear()  # a reused worker thread starts clean
        request_id = logs.request_id_from(environ.get("HTTP_X_REQUEST_ID"))
        logs.bind(request_id=request_id)
        started = time.perf_counter()
        status = {"code": 500}

        def _start_response(status_line, headers, exc_info=None):
            status["code"] = int(status_line.split(" ", 1)[0])
            headers = [(k, v) for k, v in headers if k.lower() != "x-request-id"]
            headers.append(("X-Request-ID", request_id))
            return start_response(status_line, headers, exc_info)

        try:
            return self.wsgi_app(environ, _start_response)
        finally:
            duration = time.perf_counter() - started
            method = environ.get("REQUEST_METHOD", "")
            method = method if method in METHODS else "OTHER"
            route = environ.get(ROUTE_KEY) or "unmatched"
            access_log.info(
                "request",
                extra={"method": method, "endpoint": route, "status": status["code"],
                       "duration_ms": round(duration * 1000, 1)},
            )
            metrics.observe_request(method, route, status["code"], duration)
            logs.clear()


def _protocol_error(response) -> str | None:
    if response.status_code >= 400 and response.is_json:
        body = response.get_json(silent=True)
        if isinstance(body, dict) and isinstance(body.get("error"), str):
            return body["error"]
    elif response.status_code in (302, 303) and "error=" in response.headers.get("Location", ""):
        parts = urlsplit(response.headers["Location"])
        found = parse_qs(parts.query).get("error") or parse_qs(parts.fragment).get("error")
        return found[0] if found else None
    return None


def init_app(app: Flask) -> None:
    """Call last: the middleware must wrap every other one."""

    @app.after_request
    def _count_protocol_errors(response):
        error = _protocol_error(response)
        if error is not None:
            metrics.protocol_error(request.url_rule.rule if request.url_rule else "unmatched", error)
        return response

    @app.teardown_request
    def _route(exc):
        # The rule the request matched, for the access event and the latency metric.
        if request.url_rule is not None:
            request.environ[ROUTE_KEY] = request.url_rule.rule

    app.wsgi_app = Observe(app.wsgi_app)
