"""Userinfo, introspection (RFC 7662), revocation (RFC 7009) and RP-initiated logout.

Userinfo and introspection judge the account with the gate again: a citizen
who stopped passing it (deleted, validity ended…) yields no userinfo and an
inactive token, even while the token itself has not expired.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from authlib.integrations.flask_oauth2 import ResourceProtector
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6750 import BearerTokenValidator
from flask import request as http_request
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oidc.core import UserInfoEndpoint
from authlib.oidc.rpinitiated import EndSessionEndpoint

from idp import logs
from idp.accounts.models import Account
from idp.clients.models import Client
from idp.extensions import db

from . import claims as claim_rules
from . import refusals
from .refusals import Checkpoint
from idp.authorizations import releases, tokens
from .credentials import authorization_scheme
from .grants import TOKEN_AUTH_METHODS
from idp.authorizations.models import Token


@dataclass
class AccessGrant:
    """An access token as the resource protector sees it, bound to its client and citizen."""

    row: Token
    client: Client
    account: Account
    consented: str | None

    @property
    def scope(self) -> str:
        return self.row.scope

    def get_scope(self) -> str:
        return self.row.scope

    def get_client(self) -> Client:
        return self.client

    def get_user(self) -> claim_rules.Subject:
        return claim_rules.Subject(self.account, self.client, self.consented)


#: RFC 6750 §2.1: the token is a token68.
TOKEN68 = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


class BearerError(OAuth2Error):
    """An RFC 6750 §3.1 error with its ``WWW-Authenticate: Bearer`` challenge. ``error=None`` is the
    answer to a request with no token at all: 401 and a challenge without an error code (§3.1)."""

    def __init__(self, realm: str, error: str | None, status_code: int, description: str, scope: str | None = None):
        super().__init__(description, status_code=status_code)
        self.error = error or "invalid_request"
        self.realm = realm
        self.challenge_error = error
        self.scope = scope

    def get_headers(self):
        parts = [f'realm="{self.realm}"']
        if self.challenge_error:
            parts.append(f'error="{self.challenge_error}"')
        if self.scope:
            parts.append(f'scope="{self.scope}"')
        return [*super().get_headers(), ("WWW-Authenticate", "Bearer " + ", ".join(parts))]


class BearerProtector(ResourceProtector):
    """Finds the one access token of a request (RFC 6750 §2): the ``Authorization: Bearer``
    header, or a form-encoded POST body's ``access_token``, never both and never twice. Anything
    else is the standard ``invalid_request`` (400); no token at all is a bare challenge (401)."""

    def __init__(self, rt):
        super().__init__()
        self.runtime = rt

    def _error(self, error: str | None, status: int, description: str) -> BearerError:
        return BearerError(self.runtime.issuer, error, status, description)

    def parse_request_authorization(self, request):
        validator = self._token_validators["bearer"]
        from_body = self._body_tokens()
        scheme, value = authorization_scheme(request.headers)
        if from_body and scheme:
            raise self._error("invalid_request", 400, "Send the access token in one place only.")
        if len(from_body) > 1:
            raise self._error("invalid_request", 400, "Send one access token.")
        if from_body:
            token = from_body[0]
        elif scheme == "bearer":
            token = value
        else:  # no header, or a scheme this resource does not take: no bearer token was presented
            raise self._error(None, 401, "No access token.")
        if not TOKEN68.fullmatch(token or "") or len(token) > 512:
            raise self._error("invalid_request", 400, "The access token is missing or malformed.")
        return validator, token

    @staticmethod
    def _body_tokens() -> list[str]:
        if http_request.method != "POST" or http_request.mimetype != "application/x-www-form-urlencoded":
            return []
        return http_request.form.getlist("access_token")


class GatedBearerValidator(BearerTokenValidator):
    def __init__(self, rt):
        super().__init__(realm=rt.issuer)
        self.runtime = rt

    def authenticate_token(self, token_string):
        if not token_string or len(token_string) > 512:
            return None
        found = tokens.find_access_grant(db.session, token_string)
        if found is None:
            return None
        grant = AccessGrant(*found)
        logs.bind(client_id=grant.client.client_id)
        return grant

    def validate_token(self, token, scopes, request):
        now = self.runtime.now()
        if (
            token is None
            or not tokens.access_is_active(token.row, now)
            or not token.client.is_active
            or refusals.refusal(Checkpoint.USERINFO, token.account, now, self.runtime.policy) is not None
        ):
            raise BearerError(self.realm, "invalid_token", 401, "The access token is invalid or expired.")
        if self.scope_insufficient(token.get_scope(), scopes):
            raise BearerError(self.realm, "insufficient_scope", 403, "The access token lacks the openid scope.", "openid")


def build_resource_protector(rt) -> ResourceProtector:
    protector = BearerProtector(rt)
    protector.register_token_validator(GatedBearerValidator(rt))
    return protector


class UserInfo(UserInfoEndpoint):
    def generate_user_info(self, user, scope):
        rt = self.server.runtime
        claims = claim_rules.user_claims(user, scope, rt.pairwise_secret)
        releases.record(db.session, user.account.id, user.client.id, releases.USERINFO, claims, rt.now())
        return claims

    def get_issuer(self):
        return self.server.runtime.issuer


@dataclass
class PresentedToken:
    """A token row and which of its two values the client presented (each is judged on its own),
    with its holder: the client, the account and its current consent, loaded with the token."""

    row: Token
    kind: str  # "access_token" or "refresh_token"
    client: Client
    account: Account
    consented: str | None


class Introspection(IntrospectionEndpoint):
    CLIENT_AUTH_METHODS = TOKEN_AUTH_METHODS

    def query_token(self, token_string, token_type_hint):
        if not token_string or len(token_string) > 512:
            return None
        found = tokens.find_grant(db.session, token_string)
        if found is None:
            return None
        row, client, account, consented = found
        return PresentedToken(row, tokens.kind_of(row, token_string), client, account, consented)

    def check_permission(self, token, client, request):
        # A client may introspect only the tokens issued to it.
        return token.row.client_pk == client.id

    def create_introspection_payload(self, presented):
        rt = self.server.runtime
        now = rt.now()
        if presented is None:
            return {"active": False}
        token, kind = presented.row, presented.kind
        # A rotated refresh token is dead even while the access token issued with it lives, and the
        # other way round (RFC 7662 §2.2: the state of the token presented).
        if kind == "refresh_token":
            active = tokens.refresh_is_active(token, now)
        else:
            active = tokens.access_is_active(token, now)
        if not active:
            return {"active": False}
        client, account, consented = presented.client, presented.account, presented.consented
        if refusals.refusal(Checkpoint.INTROSPECTION, account, now, rt.policy) is not None:
            return {"active": False}
        expires = token.refresh_expires_at if kind == "refresh_token" else token.access_expires_at
        return {
            "active": True,
            # The scopes whose claims the holder of this token receives now (the one release rule).
            "scope": claim_rules.released_scope(claim_rules.Subject(account, client, consented), token.scope),
            "client_id": client.client_id,
            "token_type": "Bearer",
            "exp": int(expires.timestamp()),
            "iat": int(token.issued_at.timestamp()),
            "sub": claim_rules.subject_identifier(account, client, rt.pairwise_secret),
            "aud": client.client_id,
            "iss": rt.issuer,
            "acr": token.acr,
            "auth_time": int(token.auth_time.timestamp()),
        }


class Revocation(RevocationEndpoint):
    CLIENT_AUTH_METHODS = TOKEN_AUTH_METHODS

    def query_token(self, token_string, token_type_hint):
        if not token_string or len(token_string) > 512:
            return None
        return tokens.find_any(db.session, token_string, token_type_hint)

    def revoke_token(self, token, request):
        # Revoking either token of a grant ends the whole family (RFC 7009 §2.1).
        tokens.revoke_family(db.session, token.family_id, self.server.runtime.now())


class EndSession(EndSessionEndpoint):
    """RP-initiated logout; the web layer asks the citizen when the request cannot be shown genuine."""

    def get_server_jwks(self):
        rt = self.server.runtime
        return rt.keyring.public_keyset(rt.now())

    def end_session(self, end_session_request):
        """The web view ends the sign-in session itself (it owns the cookie) before asking for the response."""
