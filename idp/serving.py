"""The built-in threaded server for ``idp serve`` and the demo (gunicorn in production)."""

from __future__ import annotations

import logging

from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

log = logging.getLogger("idp.serve")


class RequestHandler(WSGIRequestHandler):
    """Werkzeug's handler, logging as the rest of the provider does.

    The application logs one access event per request itself (``idp.web.observe``), so a
    request it answered is not logged again here. What the server answers alone (a request
    line over 64 KB: 414, a malformed request line: 400) is logged with its status only:
    the request line can carry a code or a token in its query, and ``path`` is never set
    for a request line the server could not read.
    """

    def log_request(self, code="-", size="-"):
        if getattr(self, "environ", None) is None:  # the application never saw this request
            log.info("request refused by the server", extra={"status": _status(code)})

    def log_error(self, format, *args):
        if args and _status(args[0]) is not None:
            return  # send_error's "code %d, message %s": the message can quote the request line; log_request logs it
        log.warning("server error: %s", type(args[0]).__name__ if args else format)

    def log_message(self, format, *args):
        log.info(format, *args)

    def log(self, type, message, *args):
        getattr(log, type if type in ("debug", "info", "warning", "error") else "info")(message.rstrip(), *args)


def _status(code):
    try:
        return int(getattr(code, "value", code))
    except (TypeError, ValueError):
        return None


def make_idp_server(app: Flask, host: str, port: int) -> BaseWSGIServer:
    """The threaded server ``run_server`` runs (tests serve it in a thread)."""
    return make_server(host, port, app, threaded=True, request_handler=RequestHandler)


def run_server(app: Flask, host: str, port: int) -> None:
    server = make_idp_server(app, host, port)
    log.info("serving on http://%s:%s", host, port)
    server.serve_forever()
