"""The authorization code grant (with OpenID Connect and PKCE S256) and refresh with rotation.

Only what is needed is registered: no password, implicit, hybrid or client
credentials grants (RFC 9700 §2.1.2, §2.4). Both grants call the gate again
when they authenticate the user, so a citizen who stopped passing it after the
code was issued gets no token (PRODUCT.md, "The gate before every token").
"""

from __future__ import annotations

import hashlib
import hmac

from authlib.common.encoding import to_bytes, to_unicode, urlsafe_b64encode
from authlib.oauth2.rfc6749 import OAuth2Error, grants
from authlib.oauth2.rfc6749.errors import InvalidGrantError, InvalidRequestError, InvalidScopeError
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7636.challenge import CODE_VERIFIER_PATTERN
from authlib.oidc.core import OpenIDCode
from authlib.oidc.core.grants.util import is_openid_scope

from idp import metrics
from idp.accounts.models import Account
from idp.clients import scopes as sc
from idp.extensions import db

from . import claims as claim_rules
from . import refusals
from .refusals import Checkpoint
from idp.authorizations import codes, consent, releases, tokens

TOKEN_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]
RESPONSE_MODES = ("query", "form_post")
PROMPTS = {"none", "login", "consent"}


def _s256(verifier: str) -> str:
    return to_unicode(urlsafe_b64encode(hashlib.sha256(to_bytes(verifier, "ascii")).digest()))


def _s256_matches(verifier: str, challenge: str) -> bool:
    return hmac.compare_digest(_s256(verifier).encode("ascii"), challenge.encode("ascii"))


class S256Only(CodeChallenge):
    """PKCE required for every client, S256 only (RFC 9700 §2.1.1): ``plain`` and a missing method are refused."""

    DEFAULT_CODE_CHALLENGE_METHOD = "S256"
    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    CODE_CHALLENGE_METHODS = {"S256": _s256_matches}

    def validate_code_challenge(self, grant, redirect_uri):
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send code_challenge with code_challenge_method=S256")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("code_challenge_method must be S256")
        super().validate_code_challenge(grant, redirect_uri)


def _runtime(grant):
    return grant.server.runtime


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = TOKEN_AUTH_METHODS

    @staticmethod
    def validate_authorization_redirect_uri(request, client):
        """Authlib's check, without echoing the refused URI in ``error_description`` (its characters
        may be ones RFC 6749 §4.1.2.1 forbids there, and the page shows only the error code anyway)."""
        redirect_uri = request.payload.redirect_uri
        if redirect_uri:
            if not client.check_redirect_uri(redirect_uri):
                raise InvalidRequestError("The redirect_uri is not registered for this client.")
            return redirect_uri
        default = client.get_default_redirect_uri()
        if not default:
            raise InvalidRequestError("The redirect_uri parameter is required.")
        return default

    def validate_authorization_request(self):
        redirect_uri = super().validate_authorization_request()
        try:
            self._validate_openid_request()
        except OAuth2Error as error:
            error.redirect_uri = redirect_uri
            raise
        return redirect_uri

    def _validate_openid_request(self) -> None:
        data = self.request.payload.data
        datalist = self.request.payload.datalist
        for name in ("nonce", "code_challenge", "code_challenge_method", "response_mode", "prompt", "max_age"):
            if len(datalist.get(name, [])) > 1:
                raise InvalidRequestError(f"Multiple '{name}' in request.")
        if sc.OPENID not in sc.parse(self.request.scope):
            raise InvalidScopeError("The openid scope is required.")
        if not data.get("state"):
            raise InvalidRequestError("The state parameter is required.")
        if data.get("response_mode", "query") not in RESPONSE_MODES:
            raise InvalidRequestError("response_mode must be query or form_post")
        if "request" in data:
            raise _OIDCError("request_not_supported", "Request objects are not supported.")
        if "request_uri" in data:
            raise _OIDCError("request_uri_not_supported", "request_uri is not supported.")
        if "registration" in data:
            raise _OIDCError("registration_not_supported", "The registration parameter is not supported.")
        prompts = set((data.get("prompt") or "").split())
        if not prompts <= PROMPTS:
            raise InvalidRequestError("Unsupported prompt value.")
        if "none" in prompts and len(prompts) > 1:
            raise InvalidRequestError("prompt=none cannot be combined with other values.")
        max_age = data.get("max_age")
        # ASCII digits only: str.isdigit() also accepts '²', which int() refuses.
        if max_age is not None and (not (max_age.isascii() and max_age.isdigit()) or len(max_age) > 10):
            raise InvalidRequestError("max_age must be a non-negative integer.")

    def query_authorization_code(self, code, client):
        """Claim the code at once when the request passes every check Authlib makes after this
        (``redirect_uri``, the S256 verifier): one statement that claims and loads. A request that
        would fail one claims nothing; the code is then read as it is, to refuse reuse (revoking what
        the first use issued) or to let Authlib's checks answer, the code untouched."""
        now = _runtime(self).now()
        self.request.family_id = None
        redirect_uri = self.request.payload.redirect_uri
        verifier = self.request.form.get("code_verifier")
        if redirect_uri and verifier and CODE_VERIFIER_PATTERN.match(verifier):
            claimed = codes.claim_exchange(
                db.session, code, client.id, redirect_uri=redirect_uri, code_challenge=_s256(verifier), now=now
            )
            if claimed is not None:
                row, self.request.code_account, self.request.consented, self.request.family_id = claimed
                return row
        found = codes.find_code(db.session, code, client.id)
        if found is None:
            return None
        row, self.request.code_account, self.request.consented = found
        if row.consumed_at is not None:
            codes.revoke_code_family(db.session, row, now)
            return None
        if row.expires_at <= now:
            return None
        return row

    def authenticate_user(self, authorization_code):
        rt = _runtime(self)
        now = rt.now()
        if self.request.family_id is None:
            # Not claimed with the lookup (see query_authorization_code): claim it now.
            family_id = codes.claim_code(db.session, authorization_code, now)
            if family_id is None:
                # Lost a race with another exchange of the same code: that is a second use.
                codes.revoke_code_family(db.session, authorization_code, now)
                raise InvalidGrantError("The authorization code was already used.")
            self.request.family_id = family_id
        account = self.request.code_account  # loaded with the code, one statement fewer
        _gate(Checkpoint.TOKEN, account, now, rt.policy)
        return claim_rules.Subject(account, self.request.client, self.request.consented)

    def delete_authorization_code(self, authorization_code):
        """Nothing to delete: the code was claimed in ``authenticate_user`` and is kept for reuse detection."""

    def create_token_response(self):
        """Authlib's response, then the one write that issues it: ``save_token`` only kept the
        token's values, and the ID token hook (which runs after it) put the claim names it released
        on the subject, so the token row carries the access history's entry (one INSERT, no upsert)."""
        result = super().create_token_response()
        tokens.store(db.session, **self.request.issued_token, released_claims=releases.names(self.request.user.released))
        return result


def _gate(checkpoint: Checkpoint, account, now, policy) -> None:
    """The gate at the token endpoint (both grants), answered from the one table."""
    if refusals.refusal(checkpoint, account, now, policy) is not None:
        raise InvalidGrantError(refusals.DESCRIPTIONS[checkpoint])


class _OIDCError(InvalidRequestError):
    def __init__(self, error: str, description: str):
        super().__init__(description)
        self.error = error


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = TOKEN_AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token):
        now = _runtime(self).now()
        row = tokens.find_by_refresh(db.session, refresh_token)
        if row is None:
            return None
        if row.rotated_at is not None:
            # A rotated refresh token used again: someone holds a copy (RFC 9700 §4.14.2).
            tokens.revoke_family(db.session, row.family_id, now)
            return None
        if not tokens.refresh_is_active(row, now):
            return None
        return row

    def authenticate_user(self, refresh_token):
        rt = _runtime(self)
        now = rt.now()
        if not tokens.claim_refresh(db.session, refresh_token, now):
            tokens.revoke_family(db.session, refresh_token.family_id, now)
            raise InvalidGrantError("The refresh token was already used.")
        account = db.session.get(Account, refresh_token.account_id)
        _gate(Checkpoint.REFRESH, account, now, rt.policy)
        client = self.request.client
        consented = " ".join(sorted(consent.granted_scopes(db.session, account.id, client.id)))
        if not sc.offline_granted(client.allowed_scopes, client.grant_types, refresh_token.scope, consented):
            # Offline access withdrawn (by the citizen or the operator) since it was issued.
            tokens.revoke_family(db.session, refresh_token.family_id, now)
            raise InvalidGrantError("Offline access is not granted.")
        return claim_rules.Subject(account, client, consented)

    def revoke_old_credential(self, refresh_token):
        """Already done: ``authenticate_user`` marked it rotated in the same transaction."""


class OpenIDConnect(OpenIDCode):
    """ID tokens through Authlib's current hooks: key, algorithm and claims per client."""

    def __init__(self, rt):
        super().__init__(require_nonce=True)
        self.runtime = rt

    def __call__(self, grant):
        """Authlib's hooks but its prompt check: prompts are judged against the sign-in session by
        ``idp.oidc.authorize.judge`` when the request is answered, which may be later and on another
        request than the validation (a pushed request, a cross-site POST continued by a GET)."""
        grant.register_hook("after_create_token_response", self.process_token)
        if is_openid_scope(grant.request.payload.scope):
            grant.register_hook("after_validate_authorization_request_payload", self.validate_openid_authorization_request)

    def process_token(self, grant, response):
        token = super().process_token(grant, response)
        if "id_token" in token:
            metrics.issued("id_token", grant.request.payload.grant_type or "", grant.request.client.client_id)
        return token

    def exists_nonce(self, nonce, request):
        return codes.nonce_used(db.session, request.client.id, nonce)

    def resolve_client_private_key(self, client):
        return self.runtime.keyring.current(self.get_client_algorithm(client))

    def get_client_algorithm(self, client):
        return client.id_token_signed_response_alg or "RS256"

    def get_encode_header(self, client):
        key = self.resolve_client_private_key(client)
        return {"alg": self.get_client_algorithm(client), "kid": key.kid, "typ": "JWT"}

    def get_client_claims(self, client):
        return {"iss": self.runtime.issuer, "aud": client.get_client_id()}

    def get_compatible_claims(self, request):
        rt = self.runtime
        now = int(rt.now().timestamp())
        claims = self.get_client_claims(request.client)
        claims.update(iat=now, exp=now + rt.settings.tokens.id_token_seconds)
        if request.authorization_code is not None:
            claims["sid"] = request.authorization_code.sid
        return claims

    def generate_user_info(self, user, scope):
        """The ID token's claims; their names go on the token row with the exchange (the access
        history's ``id_token`` channel, derived from the token rows), not in a write of their own."""
        claims = claim_rules.user_claims(user, scope, self.runtime.pairwise_secret)
        user.released.extend(claims)
        return claims
