"""Fetching a client's published documents: its ``sector_identifier_uri`` and its ``jwks_uri``.

Every fetch of a URL an integrator chose goes through here, with the limits that
keep it from being turned against the provider (server-side request forgery,
slow or huge answers; OWASP ASVS 5.0 V1.3.6): https only (loopback http only in
development), no redirects followed, a short timeout, a size limit, JSON only.
"""

from __future__ import annotations

import ipaddress
import json
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

from .errors import ClientError

TIMEOUT_SECONDS = 3
MAX_BYTES = 64 * 1024


def is_loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return bool(host) and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class FetchError(ClientError):
    """The document could not be fetched or is not JSON; ``reason`` is short ASCII English."""


@dataclass(frozen=True)
class Fetcher:
    """Policy of the fetch: whether loopback http is allowed (development and tests only)."""

    allow_loopback_http: bool = False
    timeout: float = TIMEOUT_SECONDS
    max_bytes: int = MAX_BYTES

    def check_url(self, url: str) -> None:
        try:
            parts = urlsplit(url)
        except ValueError:
            raise FetchError("not a valid URL") from None
        if parts.scheme == "https" and parts.hostname:
            return
        if parts.scheme == "http" and self.allow_loopback_http and is_loopback(parts.hostname):
            return
        raise FetchError("must be an https URL")

    def check_address(self, host: str, port: int) -> None:
        """Only public addresses (loopback too in development): no fetch into the provider's network.
        Trade-off: the name is resolved again by the HTTP client (a DNS rebinding window remains)."""
        try:
            infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
        except (OSError, UnicodeError):
            raise FetchError("host cannot be resolved") from None
        for info in infos:
            address = ipaddress.ip_address(info[4][0].split("%", 1)[0])
            if address.is_loopback and self.allow_loopback_http:
                continue
            if not address.is_global:
                raise FetchError("host is not a public address")

    def json(self, url: str):
        """The parsed JSON document at ``url``."""
        self.check_url(url)
        parts = urlsplit(url)
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise FetchError("not a valid URL") from None
        self.check_address(parts.hostname, port)
        try:
            with requests.get(
                url, timeout=self.timeout, allow_redirects=False, stream=True, headers={"Accept": "application/json"}
            ) as response:
                if response.status_code != 200:
                    raise FetchError(f"answered HTTP {response.status_code}")
                body = b""
                for chunk in response.iter_content(8192):
                    body += chunk
                    if len(body) > self.max_bytes:
                        raise FetchError("is too large")
        except requests.RequestException:
            raise FetchError("could not be fetched") from None
        try:
            return json.loads(body)
        except (ValueError, RecursionError):
            raise FetchError("is not JSON") from None
