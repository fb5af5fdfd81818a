"""Serving a WSGI app on a real local port for end-to-end and browser tests, and what a citizen's
browser does there (a ``requests`` session: follow redirects, sign in, consent)."""

from __future__ import annotations

import html
import re
import socket
import threading
from contextlib import contextmanager
from urllib.parse import urljoin

import requests
from werkzeug.serving import make_server

from .factories import PASSWORD

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(app, port: int, host: str = "127.0.0.1", ssl_context=None):
    """Serve ``app`` on ``host``:``port`` in a thread (threaded server) until the block ends; over
    TLS with ``ssl_context`` (a (certificate file, key file) pair)."""
    server = make_server(host, port, app, threaded=True, ssl_context=ssl_context)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"{'https' if ssl_context else 'http'}://{host}:{port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


class AgencySite:
    """An agency's own website for browser tests: the pages ``put`` at a path, and at every other
    path (its redirect URIs) a plain page the callback is read off."""

    def __init__(self):
        self.pages: dict[str, str] = {}

    def put(self, path: str, html: str) -> None:
        self.pages[path] = html

    def __call__(self, environ, start_response):
        page = self.pages.get(environ.get("PATH_INFO", ""))
        body = page or "<!doctype html><html lang=en><title>Agency</title><h1>Back at the agency</h1></html>"
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [body.encode()]


def browser_sign_in(http: requests.Session, authorize_url: str, username: str, password: str = PASSWORD) -> requests.Response:
    """What a citizen's browser does: follow to the sign-in page and sign in."""
    page = http.get(authorize_url, allow_redirects=True)
    assert "/login" in page.url, page.url
    data = {"csrf_token": CSRF.search(page.text).group(1), "username": username, "password": password}
    return http.post(page.url.split("?")[0], data=data, allow_redirects=False)


def follow_to_callback(http: requests.Session, response: requests.Response, redirect_prefix: str,
                       offline: bool = True) -> str:
    """Follow redirects (and consent) until the provider sends the browser to the agency; on the
    consent page the citizen allows, and ticks offline access where it is asked (unless ``offline``
    is false)."""
    for _ in range(10):
        if response.status_code in (302, 303):
            location = response.headers["Location"]
            if location.startswith(redirect_prefix):
                return location
            response = http.get(urljoin(response.url, location), allow_redirects=False)
            continue
        if response.status_code == 200 and 'name="decision"' in response.text:
            form = {k: html.unescape(v) for k, v in HIDDEN.findall(response.text)}
            form.update(csrf_token=CSRF.search(response.text).group(1), decision="allow")
            if offline and 'name="offline"' in response.text:
                form["offline"] = "y"
            response = http.post(response.url.split("?")[0], data=form, allow_redirects=False)
            continue
        raise AssertionError(f"unexpected {response.status_code} at {response.url}: {response.text[:300]}")
    raise AssertionError("too many redirects")


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
def documents(host: str = "127.0.0.1", port: int | None = None, ssl_context=None):
    docs = Documents()
    with serving(docs, port or free_port(), host, ssl_context) as base:
        docs.base = base
        yield docs
