"""Headers on every response (ASVS 5.0 V3.4, RFC 9700 §4.16) and the transaction boundary.

A strict Content-Security-Policy with no inline script and ``frame-ancestors
'none'``; ``form-action`` reaches only this origin and, on a page that hands the
citizen back to an agency, that agency's validated redirect origin.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, g, request

from idp.extensions import db
from idp.runtime import runtime

from . import unavailable

BASE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    # object-src is covered by default-src 'none', said again because scanners and reviewers look for it.
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


def after_commit(action: Callable[[], None]) -> None:
    """Run ``action`` once this request's unit of work has committed (never when it rolls back):
    what calls the network, such as back-channel logout, must not announce what did not happen."""
    g.setdefault("after_commit", []).append(action)


def init_app(app: Flask) -> None:
    @app.after_request
    def _headers(response):
        targets = " ".join(g.get("form_targets", []))
        response.headers["Content-Security-Policy"] = f"{BASE_CSP}; form-action 'self' {targets}".rstrip()
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), payment=()"
        if runtime().settings.is_https:
            response.headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
        if request.endpoint != "static" and "Cache-Control" not in response.headers:
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.after_request
    def _commit(response):
        # One unit of work per request: what a view changed lands together, or not at all.
        if response.status_code < 500:
            try:
                db.session.commit()
            except Exception as exc:
                # The database went away between the view and its commit: nothing landed.
                if (unavailable_answer := unavailable.answer(exc)) is None:
                    raise
                g.pop("after_commit", None)
                return unavailable_answer
            for action in g.pop("after_commit", []):
                action()
        else:
            db.session.rollback()
        return response

    @app.teardown_request
    def _rollback(exc):
        if exc is not None:
            db.session.rollback()
