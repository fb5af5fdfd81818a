"""An agency that authenticates with ``private_key_jwt`` (RFC 7523 §2.2, OIDC Core §9): its public
JWK Set, a signed client assertion, and a code exchange carrying it."""

from __future__ import annotations

import uuid

import jwt as pyjwt
from joserfc.jwk import RSAKey

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def code_form(agency, code: str) -> dict:
    return {"grant_type": "authorization_code", "code": code, "redirect_uri": agency.redirect_uri,
            "code_verifier": agency.verifier}


def public_jwks(private, kid: str = "agency-key-1") -> dict:
    key = RSAKey.import_key(private.public_key())
    return {"keys": [{**key.as_dict(private=False), "kid": kid, "use": "sig", "alg": "RS256"}]}


def assertion(rt, client_id: str, key, kid: str = "agency-key-1", **overrides) -> str:
    now = int(rt.now().timestamp())
    claims = {"iss": client_id, "sub": client_id, "aud": rt.issuer + "/token", "iat": now, "exp": now + 60,
              "jti": str(uuid.uuid4())}
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    return pyjwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


def exchange_with_assertion(agency, code: str, signed: str, *, with_client_id: bool = True):
    data = {**code_form(agency, code), "client_assertion_type": ASSERTION_TYPE, "client_assertion": signed}
    if with_client_id:
        data["client_id"] = agency.client.client_id
    return agency.http.post("/token", data=data)
