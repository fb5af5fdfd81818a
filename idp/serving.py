"""The built-in threaded server for ``idp serve`` and the demo (gunicorn in production)."""

from __future__ import annotations

from flask import Flask
from werkzeug.serving import WSGIRequestHandler, run_simple


class PathOnlyLog(WSGIRequestHandler):
    """Logs the path without its query: query strings can carry an id_token_hint or a code."""

    def log_request(self, code="-", size="-"):
        path = self.path.split("?", 1)[0]
        self.log("info", '"%s %s" %s', self.command, path, code)


def run_server(app: Flask, host: str, port: int) -> None:
    run_simple(host, port, app, threaded=True, request_handler=PathOnlyLog, use_reloader=False)
