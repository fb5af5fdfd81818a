"""Malformed input answered as a client error, never a 500 (issue 2: "No page or endpoint
answers 500 to malformed input").

Two kinds reach the views otherwise:

- raw (not percent-encoded) bytes in the query string that are not UTF-8: Werkzeug
  decodes the query string strictly and raises on first use of ``request.args``, even
  while rendering the error page. They are percent-encoded before Werkzeug sees them,
  so they arrive as the literal ``%FF`` a well-behaved client would have sent.
- NUL characters in a parameter or in the path (``/interaction/%00``): no protocol
  or form value and no path segment carries one, and PostgreSQL refuses them in
  text, so they are refused as a bad request up front.
"""

from __future__ import annotations

from flask import Flask, abort, request


def percent_encode_raw_bytes(query: str) -> str:
    """A WSGI ``QUERY_STRING`` (bytes as latin-1, PEP 3333) with every non-ASCII byte percent-encoded."""
    if query.isascii():
        return query
    raw = query.encode("latin-1", "replace")
    return "".join(chr(b) if b < 0x80 else f"%{b:02X}" for b in raw)


class _QueryStringBytes:
    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        environ["QUERY_STRING"] = percent_encode_raw_bytes(environ.get("QUERY_STRING", ""))
        return self.wsgi_app(environ, start_response)


def _has_nul(values) -> bool:
    return any("\x00" in key or "\x00" in value for key, value in values.items(multi=True))


def init_app(app: Flask) -> None:
    app.wsgi_app = _QueryStringBytes(app.wsgi_app)

    @app.before_request
    def _refuse_nul():
        if (
            "\x00" in request.path
            or _has_nul(request.args)
            or (request.method == "POST" and _has_nul(request.form))
            or any("\x00" in str(v) for v in (request.view_args or {}).values())
        ):
            abort(400)
