"""Validation of client metadata. One rule set per caller, stricter or looser:
the operator's CLI here; dynamic registration (RFC 7591) adds its own on top.

Errors carry an RFC 7591 error code (``invalid_redirect_uri``,
``invalid_client_metadata``) and a short ASCII description.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from . import scopes as sc

AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt", "none")
SIGNING_ALGS = ("RS256", "ES256", "EdDSA")
GRANT_TYPES = ("authorization_code", "refresh_token")


class MetadataError(ValueError):
    def __init__(self, error: str, description: str):
        super().__init__(description)
        self.error = error
        self.description = description


@dataclass
class ClientMetadata:
    name: str
    redirect_uris: list[str]
    post_logout_redirect_uris: list[str] = field(default_factory=list)
    scopes: list[str] = field(default_factory=lambda: list(sc.BASIC_SCOPES))
    token_endpoint_auth_method: str = "client_secret_basic"
    grant_types: list[str] = field(default_factory=lambda: ["authorization_code", "refresh_token"])
    id_token_signed_response_alg: str = "RS256"
    subject_type: str = "pairwise"
    agency: str = ""
    jwks: dict | None = None
    jwks_uri: str | None = None
    sector_identifier_uri: str | None = None
    backchannel_logout_uri: str | None = None

    @property
    def is_public(self) -> bool:
        return self.token_endpoint_auth_method == "none"


def _is_loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return bool(host) and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_uri(uri: str, error: str, *, allow_loopback_http: bool) -> str:
    try:
        parts = urlsplit(uri)
    except ValueError:
        raise MetadataError(error, "URI is not valid") from None
    if parts.fragment or "#" in uri:
        raise MetadataError(error, "URI must not contain a fragment")
    if parts.scheme == "https" and parts.hostname:
        return uri
    if parts.scheme == "http" and _is_loopback(parts.hostname) and allow_loopback_http:
        return uri
    if parts.scheme == "http" and _is_loopback(parts.hostname):
        raise MetadataError(error, "http is allowed only for loopback native or development clients")
    raise MetadataError(error, "URI must be absolute https")


def validate(meta: ClientMetadata, *, supported_algs: list[str], allow_loopback_http: bool) -> ClientMetadata:
    """Check metadata as the operator's CLI accepts it."""
    if not meta.name or len(meta.name) > 200:
        raise MetadataError("invalid_client_metadata", "client_name is required (at most 200 characters)")
    if not meta.redirect_uris:
        raise MetadataError("invalid_redirect_uri", "at least one redirect_uri is required")
    meta.redirect_uris = [check_uri(u, "invalid_redirect_uri", allow_loopback_http=allow_loopback_http) for u in meta.redirect_uris]
    meta.post_logout_redirect_uris = [
        check_uri(u, "invalid_client_metadata", allow_loopback_http=allow_loopback_http)
        for u in meta.post_logout_redirect_uris
    ]
    if meta.backchannel_logout_uri:
        check_uri(meta.backchannel_logout_uri, "invalid_client_metadata", allow_loopback_http=allow_loopback_http)
    if meta.token_endpoint_auth_method not in AUTH_METHODS:
        raise MetadataError("invalid_client_metadata", "token_endpoint_auth_method is not supported")
    if meta.token_endpoint_auth_method == "private_key_jwt" and not (meta.jwks or meta.jwks_uri):
        raise MetadataError("invalid_client_metadata", "private_key_jwt needs jwks or jwks_uri")
    if meta.jwks is not None and not (isinstance(meta.jwks, dict) and isinstance(meta.jwks.get("keys"), list)):
        raise MetadataError("invalid_client_metadata", "jwks must be a JWK Set")
    if meta.jwks_uri:
        # Fetching and caching a client's jwks_uri comes with dynamic registration; until then, jwks only.
        raise MetadataError("invalid_client_metadata", "jwks_uri is not supported yet: register jwks")
    if meta.id_token_signed_response_alg not in supported_algs:
        raise MetadataError("invalid_client_metadata", "id_token_signed_response_alg is not supported")
    unknown = [g for g in meta.grant_types if g not in GRANT_TYPES]
    if unknown or "authorization_code" not in meta.grant_types:
        raise MetadataError("invalid_client_metadata", "grant_types must be authorization_code [refresh_token]")
    bad = [s for s in meta.scopes if s not in sc.ALL_SCOPES]
    if bad:
        raise MetadataError("invalid_client_metadata", "unknown scope requested")
    if sc.OPENID not in meta.scopes:
        meta.scopes = [sc.OPENID, *meta.scopes]
    if meta.subject_type not in ("pairwise", "public"):
        raise MetadataError("invalid_client_metadata", "subject_type must be pairwise or public")
    hosts = {urlsplit(u).hostname for u in meta.redirect_uris}
    if meta.subject_type == "pairwise" and len(hosts) > 1 and not meta.sector_identifier_uri:
        raise MetadataError(
            "invalid_client_metadata", "redirect_uris on several hosts need a sector_identifier_uri"
        )
    return meta
