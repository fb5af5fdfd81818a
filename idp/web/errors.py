"""Error pages: a readable message, the right status, never a stack trace or ``str(exc)``."""

from __future__ import annotations

import logging

from flask import Flask, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from . import unavailable

log = logging.getLogger("idp.web")

MESSAGES = {
    400: _l("The request was not understood."),
    404: _l("This page does not exist."),
    405: _l("This address does not accept this kind of request."),
    413: _l("The request is too large."),
}

JSON_PATHS = ("/token", "/userinfo", "/introspect", "/revoke", "/par")
JSON_PREFIXES = ("/connect/register",)


def _wants_json() -> bool:
    return request.path in JSON_PATHS or request.path.startswith(JSON_PREFIXES)


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(exc):
        message = _l("The form expired or was not sent from this site. Please go back and try again.")
        return render_template("error.html", message=message, code="csrf"), 400

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        original = getattr(exc, "original_exception", None)
        if original is not None and (answer := unavailable.answer(original)) is not None:
            return answer
        if _wants_json():
            body = {"error": "invalid_request" if exc.code < 500 else "server_error"}
            return body, exc.code
        message = MESSAGES.get(exc.code, _l("The request cannot be processed."))
        return render_template("error.html", message=message, code=str(exc.code)), exc.code

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        if (answer := unavailable.answer(exc)) is not None:
            return answer
        log.exception("unexpected error on %s %s", request.method, request.path)
        if _wants_json():
            return {"error": "server_error"}, 500
        message = _l("Something went wrong on our side. Please try again later.")
        return render_template("error.html", message=message, code="500"), 500
