"""Calling a URL an integrator chose: fetching its ``sector_identifier_uri`` and ``jwks_uri``,
POSTing its back-channel logout notices. Every such request goes through a :class:`Fetcher`,
with the limits that keep it from being turned against the provider (server-side request
forgery; OWASP ASVS 5.0 V1.3.6, OWASP SSRF Prevention Cheat Sheet):

- The URL has the shape of ``idp.clients.uris`` (no userinfo, no ``\\``, a plain host and
  port) and holds only RFC 3986 characters. It is parsed once, by urllib3's ``parse_url``
  (the HTTP client's own parser), and that one result is checked and used to connect.
- https only; plain http only to a loopback host, and only in development.
- The host is resolved once; every address it resolves to must be public (loopback too in
  development), and the connection goes to those checked addresses, never to a fresh
  lookup: a name that answers differently the second time (DNS rebinding) gains nothing.
  TLS still verifies the certificate against the host name (SNI and hostname check use the
  name, the socket the checked address). Proxy settings in the environment are not used:
  a proxy would resolve the name again.
- No redirects, a short timeout (also bounding the whole body), a size limit.

What the registrant is told cannot map the network: an address refused after resolution,
a name that does not resolve, a refused or timed-out connection, a TLS failure and any
status but the expected one are all the one reason :data:`NOT_FETCHED`. Distinct reasons
remain only for what the registrant's own string or document decides: a URL of the wrong
shape, a literal address that is not public, and (after a 200 from a public address) a body
that is too large or not JSON. The exact cause goes to the operator's log only.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlencode

import certifi
import urllib3
from urllib3.exceptions import HTTPError, LocationParseError, NewConnectionError
from urllib3.exceptions import TimeoutError as Urllib3Timeout
from urllib3.util import parse_url

from .errors import ClientError
from .uris import UriError, authority_of, check_host, is_rfc3986

log = logging.getLogger("idp.clients.remote")

TIMEOUT_SECONDS = 3
MAX_BYTES = 64 * 1024
#: The one reason for every failure the network decides (status, port, address, TLS, time).
NOT_FETCHED = "could not be fetched"
_CHUNK = 8192


class FetchError(ClientError):
    """The URL was refused or its document could not be fetched. ``reason`` is short ASCII
    English for the registrant; ``cause`` says what happened, for the operator's log and the
    back-channel delivery record only (never shown to the registrant)."""

    def __init__(self, reason: str, cause: str | None = None):
        super().__init__(reason)
        self.cause = cause or reason


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """A globally reachable unicast address, also behind an IPv6 form that carries an IPv4 one
    (mapped, 6to4, NAT64) which could lead back into private space."""
    if not address.is_global or address.is_multicast:
        return False
    if address.version == 6:
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return is_public(embedded)
    return True


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


@dataclass(frozen=True)
class Target:
    """One parsed URL: what is checked is what is connected to."""

    scheme: str
    #: Lower case, an IPv6 literal without brackets (what ``getaddrinfo`` takes).
    host: str
    port: int
    #: Path and query, as urllib3 sends them.
    request_uri: str
    #: The ``Host`` header: the name (bracketed when IPv6), with the port when not the default.
    host_header: str
    #: Whether the host is a literal address (no SNI then, and the certificate names the address).
    is_literal: bool


@dataclass(frozen=True)
class Fetcher:
    """The policy of a call: whether loopback is allowed (development and tests only), the
    timeout, the size limit, and the CA bundle (certifi's, as ``requests`` uses, unless given)."""

    allow_loopback_http: bool = False
    timeout: float = TIMEOUT_SECONDS
    max_bytes: int = MAX_BYTES
    ca_certs: str | None = None

    def is_allowed(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        return is_public(address) or (self.allow_loopback_http and address.is_loopback)

    def check_url(self, url: str) -> Target:
        """The URL's target if its shape, scheme and (for a literal) address may be called;
        raises ``FetchError`` with a reason decided by the string alone."""
        if not isinstance(url, str) or not is_rfc3986(url):
            raise FetchError("not a valid URL")
        try:
            authority = authority_of(url)
            parsed = parse_url(url)
            host, address = check_host(parsed.host or "")
        except (UriError, LocationParseError):
            raise FetchError("not a valid URL") from None
        # The registration rule and urllib3 must read the same host and port (belt and braces:
        # with RFC 3986 characters only and no userinfo they do).
        if parsed.auth is not None or (host, parsed.port) != (authority.host, authority.port):
            raise FetchError("not a valid URL")
        if parsed.scheme == "https":
            default_port = 443
        elif parsed.scheme == "http" and self.allow_loopback_http and authority.is_loopback:
            default_port = 80
        else:
            raise FetchError("must be an https URL")
        if (address is not None and not self.is_allowed(address)) or (
            authority.is_loopback and not self.allow_loopback_http
        ):
            raise FetchError("is not a public address", "not a public address")
        port = parsed.port or default_port
        bracketed = f"[{host}]" if address is not None and address.version == 6 else host
        return Target(
            scheme=parsed.scheme,
            host=host,
            port=port,
            request_uri=parsed.request_uri,
            host_header=bracketed if parsed.port is None else f"{bracketed}:{port}",
            is_literal=address is not None,
        )

    # -- The calls -------------------------------------------------------------------------------

    def json(self, url: str):
        """The parsed JSON document at ``url`` (a GET answered 200)."""
        target = self.check_url(url)
        deadline = time.monotonic() + self.timeout
        pool, response = self._open(target, "GET", headers={"Accept": "application/json"})
        try:
            if response.status != 200:
                raise self._failed(target, f"http {response.status}")
            body = self._read(target, response, deadline)
        finally:
            response.close()
            pool.close()
        try:
            return json.loads(body)
        except (ValueError, RecursionError):
            raise FetchError("is not JSON") from None

    def post_form(self, url: str, form: dict[str, str]) -> int:
        """POST ``form`` as ``application/x-www-form-urlencoded``; returns the answer's status
        (redirects are not followed, the body is not read). The form is never logged."""
        target = self.check_url(url)
        body = urlencode(form).encode("ascii")
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Cache-Control": "no-store"}
        pool, response = self._open(target, "POST", body=body, headers=headers)
        try:
            return response.status
        finally:
            response.close()
            pool.close()

    # -- Resolution, pinning, reading -----------------------------------------------------------

    def _failed(self, target: Target, cause: str) -> FetchError:
        log.info("call to %s:%s failed: %s", target.host, target.port, cause)
        return FetchError(NOT_FETCHED, cause)

    def _addresses(self, target: Target) -> list[str]:
        """Every address the host resolves to, once; all must be allowed."""
        try:
            infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            raise self._failed(target, "unresolved") from None
        addresses = list(dict.fromkeys(str(info[4][0]).split("%", 1)[0] for info in infos))
        if not addresses or not all(self.is_allowed(ipaddress.ip_address(a)) for a in addresses):
            raise self._failed(target, "not a public address")
        return addresses

    def _pool(self, target: Target, address: str) -> urllib3.HTTPConnectionPool:
        timeout = urllib3.Timeout(connect=self.timeout, read=self.timeout)
        if target.scheme == "http":
            return urllib3.HTTPConnectionPool(address, target.port, timeout=timeout, retries=False)
        # The socket goes to the checked address; SNI and the certificate check use the name.
        return urllib3.HTTPSConnectionPool(
            address,
            target.port,
            timeout=timeout,
            retries=False,
            cert_reqs="CERT_REQUIRED",
            ca_certs=self.ca_certs or certifi.where(),
            server_hostname=None if target.is_literal else target.host,
            assert_hostname=target.host,
        )

    def _open(self, target: Target, method: str, *, body: bytes | None = None, headers: dict[str, str]):
        """Connect to the first checked address that accepts (as ``socket.create_connection``
        would); returns the pool and the response, its body unread."""
        cause = "unreachable"
        for address in self._addresses(target):
            pool = self._pool(target, address)
            try:
                response = pool.urlopen(
                    method, target.request_uri, body=body, headers={"Host": target.host_header, **headers},
                    redirect=False, retries=False, preload_content=False, assert_same_host=False,
                )
            except NewConnectionError:
                pool.close()
                cause = "unreachable: NewConnectionError"
                continue
            except (HTTPError, OSError) as exc:
                pool.close()
                raise self._failed(target, _cause(exc)) from None
            return pool, response
        raise self._failed(target, cause)

    def _read(self, target: Target, response, deadline: float) -> bytes:
        body = b""
        try:
            while chunk := response.read1(_CHUNK):
                body += chunk
                if len(body) > self.max_bytes:
                    raise FetchError("is too large")
                if time.monotonic() > deadline:
                    raise self._failed(target, "timeout")
        except (HTTPError, OSError) as exc:
            raise self._failed(target, _cause(exc)) from None
        return body


def _cause(exc: Exception) -> str:
    if isinstance(exc, Urllib3Timeout | TimeoutError):
        return "timeout"
    return f"unreachable: {type(exc).__name__}"
