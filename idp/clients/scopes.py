"""Scopes and the claims they group (PRODUCT.md, "What agencies receive").

A newly registered client may receive the basic scopes. The sensitive ones
need the operator's approval (the client's ``allowed_scopes``):

* ``natural_identity``: birth names, place of birth and the mother's birth name;
* ``verified_claims``: how the identity was verified (OpenID Connect for
  Identity Assurance 1.0): the trust framework, the evidence (a document
  inspected in person at an office, or an electronic signature) and when, with
  the claims that verification covers.

Asking for a scope the client is not approved for is not an error: the data is
simply not released (``idp.oidc.claims.releasable_scopes``).
"""

from __future__ import annotations

OPENID = "openid"
PROFILE = "profile"
EMAIL = "email"
ADDRESS = "address"
NATURAL_IDENTITY = "natural_identity"
VERIFIED_CLAIMS = "verified_claims"

BASIC_SCOPES = (OPENID, PROFILE, EMAIL, ADDRESS)
SENSITIVE_SCOPES = (NATURAL_IDENTITY, VERIFIED_CLAIMS)
ALL_SCOPES = BASIC_SCOPES + SENSITIVE_SCOPES

#: The mother's birth name under one namespaced (collision-resistant) claim name.
MOTHER_BIRTH_NAME_CLAIM = "https://ugyfelkapu.gov.hu/claims/mother_birth_name"

SCOPE_CLAIMS: dict[str, tuple[str, ...]] = {
    OPENID: ("sub",),
    PROFILE: ("name", "family_name", "given_name", "birthdate", "locale"),
    EMAIL: ("email", "email_verified"),
    ADDRESS: ("address",),
    NATURAL_IDENTITY: ("birth_family_name", "birth_given_name", "place_of_birth", MOTHER_BIRTH_NAME_CLAIM),
    VERIFIED_CLAIMS: ("verified_claims",),
}

ALL_CLAIMS = tuple(dict.fromkeys(c for claims in SCOPE_CLAIMS.values() for c in claims))


def is_sensitive(scope: str) -> bool:
    return scope in SENSITIVE_SCOPES


def parse(scope: str | None) -> list[str]:
    return list(dict.fromkeys((scope or "").split()))


def join(scopes) -> str:
    """A space-separated scope string in canonical order, known scopes only."""
    wanted = set(scopes)
    return " ".join(s for s in ALL_SCOPES if s in wanted)
