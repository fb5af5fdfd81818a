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
