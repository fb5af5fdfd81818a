"""Reading credentials from a request: HTTP Basic client credentials (RFC 6749 §2.3.1, RFC 7617)
and which client-authentication methods a request uses (RFC 6749 §2.3: only one).

Authlib's own reader lets malformed headers escape as exceptions (``Basic `` with nothing after
it, non-ASCII, bytes that are not UTF-8); here every malformed header is simply "no usable
credentials", and the client is then refused like any other that failed to authenticate.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from urllib.parse import unquote

#: Longer Basic credentials than this are not looked at (a client_id is at most 64 characters and
#: a secret 43; a long header is someone else's).
MAX_BASIC_LENGTH = 2048

JWT_BEARER_ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def authorization_scheme(headers) -> tuple[str, str]:
    """The scheme of the ``Authorization`` header (lower case) and what follows it, stripped;
    ``("", "")`` without one."""
    value = headers.get("Authorization") or ""
    scheme, _, rest = value.strip().partition(" ")
    if not rest and "\t" in scheme:
        scheme, _, rest = scheme.partition("\t")
    return scheme.lower(), rest.strip()


def basic_credentials(headers) -> tuple[str, str] | None:
    """``(client_id, client_secret)`` from a ``Basic`` header, both non-empty; None when the
    header is absent, of another scheme, or malformed in any way."""
    scheme, token = authorization_scheme(headers)
    if scheme != "basic" or not token or len(token) > MAX_BASIC_LENGTH:
        return None
    try:
        decoded = base64.b64decode(token.encode("ascii"), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        return None
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        return None
    # RFC 6749 §2.3.1: each part is form-urlencoded before encoding; percent escapes that are not
    # UTF-8 decode to U+FFFD, which matches no client and no secret.
    client_id, secret = unquote(client_id), unquote(secret)
    if not client_id or not secret or "\x00" in client_id:
        return None
    return client_id, secret


@dataclass(frozen=True)
class Presented:
    """What a request offers to authenticate its client: the methods it uses, and the client it names."""

    methods: tuple[str, ...]
    client_id: str | None

    @property
    def ambiguous(self) -> bool:
        return len(self.methods) > 1


def presented(headers, form) -> Presented:
    """The client-authentication methods a request uses (RFC 6749 §2.3: a client MUST NOT use more
    than one), and the ``client_id`` it claims to be, as the throttle keys it."""
    methods = []
    scheme, _ = authorization_scheme(headers)
    basic = basic_credentials(headers)
    if scheme == "basic":
        methods.append("client_secret_basic")
    if "client_secret" in form:
        methods.append("client_secret_post")
    if "client_assertion" in form or "client_assertion_type" in form:
        methods.append("private_key_jwt")
    client_id = basic[0] if basic is not None else form.get("client_id")
    if client_id is None and "client_assertion" in form:
        client_id = _assertion_subject(form.get("client_assertion"))
    if not isinstance(client_id, str) or not client_id or len(client_id) > 64 or "\x00" in client_id:
        client_id = None
    return Presented(tuple(methods), client_id)


def _assertion_subject(assertion) -> str | None:
    """The ``sub`` of an unverified client assertion: only to key the throttle, never to trust."""
    if not isinstance(assertion, str) or assertion.count(".") != 2 or len(assertion) > 8192:
        return None
    payload = assertion.split(".")[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, binascii.Error, RecursionError):
        return None
    sub = claims.get("sub") if isinstance(claims, dict) else None
    return sub if isinstance(sub, str) else None
