"""Provider metadata (OpenID Connect Discovery 1.0 §3, RFC 8414): exactly what is supported."""

from __future__ import annotations

from idp.accounts import assurance
from idp.clients import scopes as sc

from . import verified_claims
from .claims import TEST_ACCOUNT_CLAIM
from .grants import RESPONSE_MODES, TOKEN_AUTH_METHODS

ENDPOINTS = {
    "authorization_endpoint": "/authorize",
    "token_endpoint": "/token",
    "userinfo_endpoint": "/userinfo",
    "jwks_uri": "/jwks.json",
    "introspection_endpoint": "/introspect",
    "revocation_endpoint": "/revoke",
    "end_session_endpoint": "/end-session",
    "registration_endpoint": "/connect/register",
    "pushed_authorization_request_endpoint": "/par",
}

CLIENT_ASSERTION_ALGS = ["RS256", "PS256", "ES256", "EdDSA"]


def metadata(rt) -> dict:
    issuer = rt.issuer
    algs = rt.keyring.supported_algorithms()
    doc = {"issuer": issuer}
    doc.update({name: issuer + path for name, path in ENDPOINTS.items()})
    doc.update(
        {
            "scopes_supported": list(sc.ALL_SCOPES),
            "response_types_supported": ["code"],
            "response_modes_supported": list(RESPONSE_MODES),
            "grant_types_supported": ["authorization_code", "refresh_token"],
            # public is the operator's grant; dynamic registration asking for it gets pairwise (RFC 7591 §3.2.1).
            "subject_types_supported": ["pairwise", "public"],
            "id_token_signing_alg_values_supported": algs,
            "token_endpoint_auth_methods_supported": list(TOKEN_AUTH_METHODS),
            "token_endpoint_auth_signing_alg_values_supported": CLIENT_ASSERTION_ALGS,
            "introspection_endpoint_auth_methods_supported": list(TOKEN_AUTH_METHODS),
            "introspection_endpoint_auth_signing_alg_values_supported": CLIENT_ASSERTION_ALGS,
            "revocation_endpoint_auth_methods_supported": list(TOKEN_AUTH_METHODS),
            "revocation_endpoint_auth_signing_alg_values_supported": CLIENT_ASSERTION_ALGS,
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": [
                "iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid", "at_hash",
                *[c for c in sc.ALL_CLAIMS if c != "sub"],
                TEST_ACCOUNT_CLAIM,
            ],
            "claim_types_supported": ["normal"],
            "claims_parameter_supported": True,
            "request_parameter_supported": False,
            "request_uri_parameter_supported": False,
            "require_request_uri_registration": False,
            "acr_values_supported": list(assurance.LEVELS),
            "prompt_values_supported": ["none", "login", "consent"],
            "ui_locales_supported": ["hu", "en"],
            "claims_locales_supported": ["hu"],
            "authorization_response_iss_parameter_supported": True,
            # OpenID Connect Back-Channel Logout 1.0 §2.1: logout tokens always carry sid.
            "backchannel_logout_supported": True,
            "backchannel_logout_session_supported": True,
            "require_pushed_authorization_requests": rt.settings.tokens.require_pushed_authorization_requests,
            "service_documentation": issuer + "/docs/integration",
        }
    )
    doc.update(verified_claims.metadata())
    return doc
