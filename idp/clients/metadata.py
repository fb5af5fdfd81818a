"""Validation of client metadata. One rule set per caller, stricter or looser:
``validate`` as the operator's CLI accepts it; ``validate_registration`` adds
the rules of dynamic registration (RFC 7591 §2, OpenID Connect Dynamic Client
Registration 1.0 §2) on top.

Every URI has the shape of ``idp.clients.uris`` (no whitespace or control characters, an
authority that is ``host[:port]`` only). The URIs the provider calls (``jwks_uri``,
``sector_identifier_uri``, ``backchannel_logout_uri``) must also pass the static checks of the
``Fetcher`` that will call them: https (loopback http only in development), RFC 3986
characters only, no literal address that is not public.

Errors carry an RFC 7591 error code (``invalid_redirect_uri``,
``invalid_client_metadata``) and a short ASCII description.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from . import scopes as sc
from .remote import FetchError, Fetcher
from .uris import UriError, authority_of

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
    application_type: str = "web"
    require_pushed_authorization_requests: bool = False

    @property
    def is_public(self) -> bool:
        return self.token_endpoint_auth_method == "none"


_URI_PROBLEMS = {
    "uri_has_space_or_control": "URI must not contain whitespace or control characters",
    "uri_not_absolute": "URI must be absolute https",
    "uri_authority_invalid": "URI authority must be a host name or IP address and an optional port",
}


def check_uri(uri: str, error: str, *, allow_loopback_http: bool) -> str:
    try:
        authority = authority_of(uri)
    except UriError as exc:
        raise MetadataError(error, _URI_PROBLEMS[exc.reason]) from None
    if "#" in uri:
        raise MetadataError(error, "URI must not contain a fragment")
    if authority.scheme == "https":
        return uri
    if authority.scheme == "http" and authority.is_loopback and allow_loopback_http:
        return uri
    if authority.scheme == "http" and authority.is_loopback:
        raise MetadataError(error, "http is allowed only for loopback native or development clients")
    raise MetadataError(error, "URI must be absolute https")


def check_called_uri(uri: str, name: str, fetcher: Fetcher) -> str:
    """A URI the provider calls: the shape of every URI, then the static checks of the fetcher
    that will call it (the address is checked again, resolved, at every call)."""
    check_uri(uri, "invalid_client_metadata", allow_loopback_http=fetcher.allow_loopback_http)
    try:
        fetcher.check_url(uri)
    except FetchError as exc:
        raise MetadataError("invalid_client_metadata", f"{name} {exc.reason}") from None
    return uri


def _check_jwks(jwks) -> None:
    if not (isinstance(jwks, dict) and isinstance(jwks.get("keys"), list)):
        raise MetadataError("invalid_client_metadata", "jwks must be a JWK Set")
    try:
        keys = KeySet.import_key_set(jwks)
    except (JoseError, ValueError, TypeError, KeyError):
        raise MetadataError("invalid_client_metadata", "jwks holds a key that cannot be used") from None
    if any(key.is_private for key in keys):
        raise MetadataError("invalid_client_metadata", "jwks must hold public keys only")


def check_sector_identifier(meta: ClientMetadata, fetcher: Fetcher) -> None:
    """OIDC Core §8.1: the sector_identifier_uri is a JSON array holding every redirect_uri."""
    try:
        listed = fetcher.json(meta.sector_identifier_uri)
    except FetchError as exc:
        raise MetadataError("invalid_client_metadata", f"sector_identifier_uri {exc.reason}") from None
    if not isinstance(listed, list) or not all(isinstance(u, str) for u in listed):
        raise MetadataError("invalid_client_metadata", "sector_identifier_uri must hold a JSON array of URIs")
    if any(u not in listed for u in meta.redirect_uris):
        raise MetadataError("invalid_redirect_uri", "a redirect_uri is not listed at the sector_identifier_uri")


def validate(
    meta: ClientMetadata, *, supported_algs: list[str], allow_loopback_http: bool, fetcher: Fetcher | None = None
) -> ClientMetadata:
    """Check metadata as the operator's CLI accepts it. With a ``fetcher``, the
    sector_identifier_uri is fetched and checked (the CLI and registration pass one). The URIs
    the provider calls are held to that fetcher's policy (without one, to a fetcher allowing
    loopback as ``allow_loopback_http`` says)."""
    called = fetcher or Fetcher(allow_loopback_http=allow_loopback_http)
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
        check_called_uri(meta.backchannel_logout_uri, "backchannel_logout_uri", called)
    if meta.token_endpoint_auth_method not in AUTH_METHODS:
        raise MetadataError("invalid_client_metadata", "token_endpoint_auth_method is not supported")
    if meta.token_endpoint_auth_method == "private_key_jwt" and not (meta.jwks or meta.jwks_uri):
        raise MetadataError("invalid_client_metadata", "private_key_jwt needs jwks or jwks_uri")
    if meta.jwks is not None and meta.jwks_uri:
        raise MetadataError("invalid_client_metadata", "give jwks or jwks_uri, not both")
    if meta.jwks is not None:
        _check_jwks(meta.jwks)
    if meta.jwks_uri:
        check_called_uri(meta.jwks_uri, "jwks_uri", called)
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
    if sc.OFFLINE_ACCESS in meta.scopes and "refresh_token" not in meta.grant_types:
        # Offline access is the refresh_token grant (OIDC Core §11): one does not go without the other.
        meta.grant_types = [*meta.grant_types, "refresh_token"]
    if meta.subject_type not in ("pairwise", "public"):
        raise MetadataError("invalid_client_metadata", "subject_type must be pairwise or public")
    hosts = {authority_of(u).host for u in meta.redirect_uris}
    if meta.subject_type == "pairwise" and len(hosts) > 1 and not meta.sector_identifier_uri:
        raise MetadataError(
            "invalid_client_metadata", "redirect_uris on several hosts need a sector_identifier_uri"
        )
    if meta.sector_identifier_uri:
        check_called_uri(meta.sector_identifier_uri, "sector_identifier_uri", called)
        if fetcher is not None:
            check_sector_identifier(meta, fetcher)
    return meta


def _host_is_loopback(uri: str) -> bool:
    try:
        return authority_of(uri).is_loopback
    except UriError:
        return False


def validate_registration(
    meta: ClientMetadata, *, supported_algs: list[str], development: bool, fetcher: Fetcher
) -> ClientMetadata:
    """Check metadata as dynamic registration accepts it: stricter than the CLI.

    Web clients use https redirect URIs on a host other than localhost; loopback http
    is for native clients (RFC 8252 §7.3) and, in development, for everyone.
    """
    if meta.application_type not in ("web", "native"):
        raise MetadataError("invalid_client_metadata", "application_type must be web or native")
    native = meta.application_type == "native"
    if meta.subject_type == "public":
        # A public sub lets agencies join their records (PRODUCT.md): the operator's decision, not the
        # integrator's. RFC 7591 §3.2.1 lets the server replace a requested value: the client gets
        # pairwise, and the response says so (a generic client configured from discovery, which lists
        # public because the operator may grant it, can still register).
        meta.subject_type = "pairwise"
    if not native and not development and any(_host_is_loopback(u) for u in meta.redirect_uris):
        raise MetadataError("invalid_redirect_uri", "web clients must not use localhost")
    return validate(meta, supported_algs=supported_algs, allow_loopback_http=native or development, fetcher=fetcher)


# -- RFC 7591 request bodies ----------------------------------------------------------------------

#: Metadata this provider cannot honour: refused rather than silently ignored, since a client
#: asking for it would expect behaviour it will not get.
UNSUPPORTED = {
    "id_token_encrypted_response_alg": "ID token encryption is not supported",
    "id_token_encrypted_response_enc": "ID token encryption is not supported",
    "userinfo_signed_response_alg": "userinfo is returned as plain JSON only",
    "userinfo_encrypted_response_alg": "userinfo encryption is not supported",
    "userinfo_encrypted_response_enc": "userinfo encryption is not supported",
    "request_object_encryption_alg": "request objects are not supported",
    "request_uris": "request_uri is not supported",
}


def _string(data: dict, name: str, *, default: str | None = None, limit: int = 500) -> str | None:
    value = data.get(name, default)
    if value is None:
        return default
    if not isinstance(value, str) or len(value) > limit or "\x00" in value:
        raise MetadataError("invalid_client_metadata", f"{name} must be a string of at most {limit} characters")
    return value


def _boolean(data: dict, name: str) -> bool:
    value = data.get(name, False)
    if not isinstance(value, bool):
        raise MetadataError("invalid_client_metadata", f"{name} must be true or false")
    return value


def _strings(data: dict, name: str, *, error: str = "invalid_client_metadata", default=()) -> list[str]:
    value = data.get(name)
    if value is None:
        return list(default)
    if (
        not isinstance(value, list)
        or len(value) > 20
        or not all(isinstance(v, str) and 0 < len(v) <= 500 and "\x00" not in v for v in value)
    ):
        raise MetadataError(error, f"{name} must be an array of at most 20 strings")
    return list(dict.fromkeys(value))


def from_registration_request(data) -> ClientMetadata:
    """The metadata of an RFC 7591 §2 request body (a JSON object). Unknown members are ignored
    (§2), members this provider does not support are refused."""
    if not isinstance(data, dict):
        raise MetadataError("invalid_client_metadata", "the body must be a JSON object")
    for name, description in UNSUPPORTED.items():
        if data.get(name) is not None:
            raise MetadataError("invalid_client_metadata", description)
    response_types = _strings(data, "response_types", default=["code"])
    if response_types != ["code"]:
        raise MetadataError("invalid_client_metadata", "response_types must be [code]")
    scope = _string(data, "scope", limit=1000)
    jwks = data.get("jwks")
    if jwks is not None and not isinstance(jwks, dict):
        raise MetadataError("invalid_client_metadata", "jwks must be a JWK Set")
    return ClientMetadata(
        name=(_string(data, "client_name", default="", limit=200) or "").strip(),
        redirect_uris=_strings(data, "redirect_uris", error="invalid_redirect_uri"),
        post_logout_redirect_uris=_strings(data, "post_logout_redirect_uris"),
        scopes=sc.parse(scope) if scope is not None else list(sc.BASIC_SCOPES),
        token_endpoint_auth_method=_string(data, "token_endpoint_auth_method", default="client_secret_basic"),
        grant_types=_strings(data, "grant_types", default=["authorization_code"]),
        id_token_signed_response_alg=_string(data, "id_token_signed_response_alg", default="RS256"),
        subject_type=_string(data, "subject_type", default="pairwise"),
        jwks=jwks,
        jwks_uri=_string(data, "jwks_uri"),
        sector_identifier_uri=_string(data, "sector_identifier_uri"),
        backchannel_logout_uri=_string(data, "backchannel_logout_uri"),
        application_type=_string(data, "application_type", default="web"),
        require_pushed_authorization_requests=_boolean(data, "require_pushed_authorization_requests"),
    )
