"""The authorization server: Authlib's Flask server, configured and extended.

Built inside the application factory and kept in ``app.extensions["idp"]``.
Client authentication: ``client_secret_basic``, ``client_secret_post`` (secrets
kept as digests, compared in constant time, a rotated secret honoured for its
grace period), ``private_key_jwt`` (RFC 7523, ``jti`` replay cache in shared
state; keys registered inline or fetched from the client's ``jwks_uri``) and
``none`` for public clients, who must use PKCE like everyone else.
"""

from __future__ import annotations

from datetime import timedelta

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749.errors import InvalidClientError, InvalidRequestError
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from flask import request as http_request
from idp import logs, metrics
from idp.clients import scopes as sc
from idp.clients.remote import Fetcher
from idp.clients.snapshots import ClientSnapshots
from idp.extensions import db

from idp.authorizations import tokens
from .client_keys import ClientKeys
from .credentials import basic_credentials, presented
from .endpoints import EndSession, Introspection, Revocation, UserInfo, build_resource_protector
from .grants import AuthorizationCodeGrant, OpenIDConnect, RefreshTokenGrant, S256Only


class IdpAuthorizationServer(AuthorizationServer):
    def __init__(self, rt):
        super().__init__()
        self.runtime = rt
        #: Clients kept per worker, rechecked at most every ``database.client_snapshot_seconds``.
        self.clients = ClientSnapshots(rt.settings.database.client_snapshot_seconds)
        self.register_token_generator("default", self._generate_token)

    def query_client(self, client_id):
        # A NUL (possible in a Basic header) matches no client, and PostgreSQL refuses it in a query.
        if not isinstance(client_id, str) or len(client_id) > 64 or "\x00" in client_id:
            return None
        client = self.clients.find_active(db.session, client_id)
        if client is not None:
            logs.bind(client_id=client.client_id)
        return client

    def create_token_response(self, request=None):
        request = self.create_oauth2_request(request)
        if not request.payload.data.get("grant_type"):
            # RFC 6749 §5.2: a missing parameter is invalid_request, not unsupported_grant_type.
            return self.handle_error_response(request, InvalidRequestError("The grant_type parameter is required."))
        return super().create_token_response(request)

    def get_authorization_grant(self, request):
        """Authlib's, without echoing the request: its refusal of an unknown ``response_type`` puts
        the raw value in ``error_description`` (and raises ValueError on characters RFC 6749 forbids
        there). The redirect back follows the same rule: only to a URI validated for the client."""
        if request.payload.response_type != "code":
            redirect_uri = None
            client = self.query_client(request.payload.client_id)
            if client is not None:
                requested = request.payload.redirect_uri
                if requested and client.check_redirect_uri(requested):
                    redirect_uri = requested
                elif not requested:
                    redirect_uri = client.get_default_redirect_uri()
            error = OAuth2Error("Only response_type=code is supported.", redirect_uri=redirect_uri)
            error.error = "unsupported_response_type"
            raise error
        return super().get_authorization_grant(request)

    def authenticate_client(self, request, methods, endpoint="token"):
        """Client authentication at the token, introspection, revocation and PAR endpoints: one
        method per request (RFC 6749 §2.3), the body's ``client_id`` naming the client the header
        authenticates, and failures throttled per client and per address (``ClientAuthThrottle``)
        with the same answer whether the client exists or not."""
        offered = presented(request.headers, request.form)
        address = http_request.remote_addr or ""
        throttle = self.runtime.client_throttle
        verdict = throttle.check(offered.client_id, address)
        if not verdict.allowed:
            raise ClientAuthThrottled(verdict.retry_after)
        if offered.ambiguous:
            raise InvalidRequestError("Use one client authentication method per request.")
        basic = basic_credentials(request.headers)
        body_client_id = request.form.get("client_id")
        if basic is not None and body_client_id is not None and body_client_id != basic[0]:
            raise InvalidRequestError("client_id does not match the authenticated client.")
        try:
            client = super().authenticate_client(request, methods, endpoint)
        except InvalidClientError:
            throttle.failed(offered.client_id, address)
            raise
        throttle.succeeded(client.client_id, address)
        return client

    def _generate_token(self, grant_type, client, user=None, scope=None, expires_in=None, include_refresh_token=True):
        """A refresh token only with offline access (OIDC Core §11): the client may hold it, the
        request carried ``offline_access`` and the citizen consented to it; otherwise the scope
        answered does not name ``offline_access`` either."""
        offline = include_refresh_token and sc.offline_granted(
            client.allowed_scopes, client.grant_types, scope, getattr(user, "consented", None)
        )
        if not offline:
            scope = " ".join(s for s in sc.parse(scope) if s != sc.OFFLINE_ACCESS)
        token = {
            "token_type": "Bearer",
            "access_token": tokens.new_token_value(),
            "expires_in": self.runtime.settings.tokens.access_token_seconds,
            "scope": scope or "",
        }
        if offline:
            token["refresh_token"] = tokens.new_token_value()
        return token

    def save_token(self, token, request):
        rt = self.runtime
        now = rt.now()
        if request.authorization_code is not None:
            code = request.authorization_code
            family_id = request.family_id
            sid, auth_time, acr, amr = code.sid, code.auth_time, code.acr, code.amr
            refresh_expires_at = now + timedelta(seconds=rt.settings.tokens.refresh_token_seconds)
        else:
            old = request.refresh_token
            family_id, sid, auth_time, acr, amr = old.family_id, old.sid, old.auth_time, old.acr, old.amr
            refresh_expires_at = old.refresh_expires_at
        issued = dict(
            family_id=family_id,
            client_pk=request.client.id,
            account_id=request.user.account.id,
            sid=sid,
            scope=token.get("scope", ""),
            access_token=token["access_token"],
            refresh_token=token.get("refresh_token"),
            now=now,
            access_lifetime=rt.access_lifetime,
            refresh_expires_at=refresh_expires_at,
            auth_time=auth_time,
            acr=acr,
            amr=amr,
        )
        grant = request.payload.grant_type or ""
        metrics.issued("access_token", grant, request.client.client_id)
        if token.get("refresh_token"):
            metrics.issued("refresh_token", grant, request.client.client_id)
        if request.authorization_code is not None:
            # Written by the grant once the ID token is made, with the claim names it released.
            request.issued_token = issued
        else:
            tokens.store(db.session, **issued)

    def send_signal(self, name, *args, **kwargs):
        """Authlib's blinker signals are not used."""


def _secret_method(rt, extract):
    def authenticate(query_client, request):
        client_id, secret = extract(request)
        if not client_id or not secret:
            return None
        client = query_client(client_id)
        if client is None:
            return None
        if client.check_client_secret(secret, rt.now()):
            return client
        return None

    return authenticate


def _from_basic(request):
    return basic_credentials(request.headers) or (None, None)


def _from_post(request):
    return request.form.get("client_id"), request.form.get("client_secret")


class ClientAuthThrottled(OAuth2Error):
    """Too many failed client authentications from this address or for this client_id: 429 with
    ``Retry-After`` (RFC 6585 §4), the same for a client that exists and one that does not."""

    error = "temporarily_unavailable"
    status_code = 429

    def __init__(self, retry_after: int):
        super().__init__("Too many failed client authentications; retry later.")
        self.retry_after = max(int(retry_after), 1)

    def get_headers(self):
        return [*super().get_headers(), ("Retry-After", str(self.retry_after))]


class PrivateKeyJWT(JWTBearerClientAssertion):
    """``private_key_jwt`` (RFC 7523 §2.2, OIDC Core §9).

    A ``jti`` is remembered for as long as its assertion is valid (RFC 7523 §3, item 7); to keep
    that memory bounded, an assertion valid for longer than ``MAX_LIFETIME_SECONDS`` is refused.
    """

    CLIENT_AUTH_METHOD = "private_key_jwt"
    MAX_LIFETIME_SECONDS = 3600

    def __init__(self, rt, token_endpoint: str):
        super().__init__(validate_jti=True, leeway=30)
        self.runtime = rt
        self.token_endpoint = token_endpoint
        self.keys = ClientKeys(rt.shared, Fetcher(allow_loopback_http=rt.settings.server.development))

    def get_audiences(self):
        return [self.runtime.issuer, self.token_endpoint]

    def verify_claims(self, claims):
        exp = claims.get("exp")
        if isinstance(exp, (int, float)) and exp - self.runtime.now().timestamp() > self.MAX_LIFETIME_SECONDS:
            raise InvalidClientError(description="The client assertion expires too far in the future.")
        super().verify_claims(claims)

    def validate_jti(self, claims, jti):
        if not isinstance(jti, str) or len(jti) > 256:
            return False
        ttl = max(int(claims["exp"]) - int(self.runtime.now().timestamp()), 0) + self.leeway + 60
        return self.runtime.shared.first_use(f"jti:{claims['sub']}:{jti}", ttl)

    def resolve_client_public_key(self, client):
        if not (client.jwks or client.jwks_uri):
            raise InvalidClientError(description="The client has no registered jwks.")
        return self.keys.resolver(client)


def build_server(app, rt) -> IdpAuthorizationServer:
    server = IdpAuthorizationServer(rt)
    server.register_client_auth_method("client_secret_basic", _secret_method(rt, _from_basic))
    server.register_client_auth_method("client_secret_post", _secret_method(rt, _from_post))
    server.register_client_auth_method("private_key_jwt", PrivateKeyJWT(rt, f"{rt.issuer}/token"))
    server.register_grant(AuthorizationCodeGrant, [S256Only(required=True), OpenIDConnect(rt)])
    server.register_grant(RefreshTokenGrant)
    protector = build_resource_protector(rt)
    server.register_endpoint(UserInfo(resource_protector=protector))
    server.register_endpoint(Introspection)
    server.register_endpoint(Revocation)
    server.register_endpoint(EndSession)
    server.resource_protector = protector
    return server
