"""Serving a WSGI app on a real local port for end-to-end and browser tests."""

from __future__ import annotations

import socket
import threading
from contextlib import contextmanager

from werkzeug.serving import make_server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(app, port: int):
    """Serve ``app`` on 127.0.0.1:``port`` in a thread (threaded server) until the block ends."""
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


class Documents:
    """A small web server of JSON documents (an agency's sector_identifier_uri, its jwks_uri),
    on a real local port, counting how often each path was fetched."""

    def __init__(self):
        self.routes: dict[str, tuple[int, bytes]] = {}
        self.hits: dict[str, int] = {}
        self.base = ""

    def put(self, path: str, document=None, *, status: int = 200, raw: bytes | None = None) -> str:
        import json

        self.routes[path] = (status, raw if raw is not None else json.dumps(document).encode())
        return self.base + path

    def __call__(self, environ, start_response):
        path = environ["PATH_INFO"]
        self.hits[path] = self.hits.get(path, 0) + 1
        status, body = self.routes.get(path, (404, b"{}"))
        start_response(f"{status} X", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]


@contextmanager
def documents():
    docs = Documents()
    with serving(docs, free_port()) as base:
        docs.base = base
        yield docs
