"""The shape of every URI a client registers: redirect and post-logout redirect URIs, and the
URIs the provider calls (``backchannel_logout_uri``, ``jwks_uri``, ``sector_identifier_uri``).
One rule, for the operator's CLI and for dynamic registration alike.

Every program that reads a URI must find the same host in it: the registration check, the
HTTP client that connects there, the browser that follows a redirect, the
Content-Security-Policy ``form-action`` built from it. Parsers disagree on the edges (Python's
``urlsplit`` drops tab, CR and LF and takes anything before the first ``/`` as the host;
urllib3 and browsers end the authority at ``\\`` too), so a URI is accepted only when it has
no such edge:

- no control character and no whitespace anywhere (RFC 3986 §2: neither is allowed in a URI);
- an authority that is ``host[:port]`` and nothing else (RFC 3986 §3.2): no userinfo, no
  ``\\``, no percent-encoding. The host is a DNS host name (letters, digits, hyphens; RFC 3986
  §3.2.2 with RFC 1123 §2.1; internationalised names in their ``xn--`` form), a dotted-quad
  IPv4 literal, or a bracketed IPv6 literal without a zone. A name whose last label is a number
  must be a dotted quad: browsers and ``getaddrinfo`` read ``127.1``, ``2130706433`` and
  ``0x7f.0.0.1`` as addresses. The port, when given, is 1 to 65535.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from dataclasses import dataclass

from .errors import ClientError

_SCHEME_AND_AUTHORITY = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://([^/?#]*)")
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_NUMBER = re.compile(r"[0-9]+|0x[0-9a-f]*")
_PORT = re.compile(r"[0-9]{1,5}")
#: Characters RFC 3986 §2 allows in a URI (unreserved, reserved, and "%" starting an escape).
_RFC3986 = re.compile(r"(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*")
_SPACE_OR_CONTROL = {"Cc", "Cf", "Zs", "Zl", "Zp"}


class UriError(ClientError):
    """A URI of the wrong shape: ``uri_has_space_or_control``, ``uri_not_absolute`` or
    ``uri_authority_invalid``."""


@dataclass(frozen=True)
class Authority:
    scheme: str
    #: Lower case; an IPv6 literal without its brackets.
    host: str
    port: int | None
    address: ipaddress.IPv4Address | ipaddress.IPv6Address | None

    @property
    def origin(self) -> str:
        """``scheme://host[:port]`` as a Content-Security-Policy source."""
        host = f"[{self.host}]" if self.address is not None and self.address.version == 6 else self.host
        return f"{self.scheme}://{host}" + (f":{self.port}" if self.port is not None else "")

    @property
    def is_loopback(self) -> bool:
        """A loopback literal, or ``localhost`` (RFC 6761 §6.3: always the loopback address)."""
        if self.address is not None:
            return self.address.is_loopback
        return self.host == "localhost" or self.host.endswith(".localhost")


def has_space_or_control(text: str) -> bool:
    return any(c.isspace() or unicodedata.category(c) in _SPACE_OR_CONTROL for c in text)


def is_rfc3986(text: str) -> bool:
    """Only the characters RFC 3986 allows, escapes well formed (no ``\\``, no non-ASCII, no ``"``)."""
    return _RFC3986.fullmatch(text) is not None


def check_host(host: str) -> tuple[str, ipaddress.IPv4Address | ipaddress.IPv6Address | None]:
    """The host, lower case and unbracketed, and its address when it is a literal; raises ``UriError``."""
    host = host.lower()
    if host.startswith("[") and host.endswith("]"):
        inner = host[1:-1]
        if not inner or not set(inner) <= set("0123456789abcdef:."):  # no zone ("%"), no IPvFuture
            raise UriError("uri_authority_invalid")
        try:
            return inner, ipaddress.IPv6Address(inner)
        except ValueError:
            raise UriError("uri_authority_invalid") from None
    labels = host.split(".")
    if len(host) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise UriError("uri_authority_invalid")
    if _NUMBER.fullmatch(labels[-1]):
        try:
            address = ipaddress.IPv4Address(host)
        except ValueError:
            raise UriError("uri_authority_invalid") from None
        return host, address
    return host, None


def authority_of(uri: str) -> Authority:
    """The scheme, host and port of an absolute URI with an authority; raises ``UriError``."""
    if has_space_or_control(uri):
        raise UriError("uri_has_space_or_control")
    match = _SCHEME_AND_AUTHORITY.match(uri)
    if match is None:
        raise UriError("uri_not_absolute")
    scheme, authority = match.group(1).lower(), match.group(2)
    port = None
    if authority.endswith("]") or ":" not in authority:
        host = authority
    else:
        host, _, digits = authority.rpartition(":")
        if not (_PORT.fullmatch(digits) and 0 < int(digits) <= 65535):
            raise UriError("uri_authority_invalid")
        port = int(digits)
    host, address = check_host(host)
    return Authority(scheme, host, port, address)


def origin_of(uri: str) -> str | None:
    """The ``scheme://host[:port]`` of a well-formed URI, None for any other."""
    try:
        return authority_of(uri).origin
    except UriError:
        return None
