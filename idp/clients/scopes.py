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

``offline_access`` (OpenID Connect Core §11) releases no claim: it asks for a refresh token, so
the agency may read the citizen's data while they are not signed in. A client may hold it only
when allowed (the operator's ``idp clients add --offline-access``, or dynamic registration with
``offline_access`` in its ``scope``), and a refresh token is issued only when the agency asked for
it with ``prompt=consent`` and the citizen ticked it on the consent page (``offline_granted``).
"""

from __future__ import annotations

OPENID = "openid"
PROFILE = "profile"
EMAIL = "email"
ADDRESS = "address"
NATURAL_IDENTITY = "natural_identity"
VERIFIED_CLAIMS = "verified_claims"
OFFLINE_ACCESS = "offline_access"

BASIC_SCOPES = (OPENID, PROFILE, EMAIL, ADDRESS)
SENSITIVE_SCOPES = (NATURAL_IDENTITY, VERIFIED_CLAIMS)
#: Scopes that release claims (what the citizen's data is grouped by).
DATA_SCOPES = BASIC_SCOPES + SENSITIVE_SCOPES
ALL_SCOPES = DATA_SCOPES + (OFFLINE_ACCESS,)

#: The mother's birth name under one namespaced (collision-resistant) claim name.
MOTHER_BIRTH_NAME_CLAIM = "https://ugyfelkapu.gov.hu/claims/mother_birth_name"

SCOPE_CLAIMS: dict[str, tuple[str, ...]] = {
    OPENID: ("sub",),
    PROFILE: ("name", "family_name", "given_name", "birthdate", "locale"),
    EMAIL: ("email", "email_verified"),
    ADDRESS: ("address",),
    NATURAL_IDENTITY: ("birth_family_name", "birth_given_name", "place_of_birth", MOTHER_BIRTH_NAME_CLAIM),
    VERIFIED_CLAIMS: ("verified_claims",),
    OFFLINE_ACCESS: (),
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


def offline_granted(client_allowed: str | None, client_grant_types, requested: str | None, consented: str | None) -> bool:
    """Core §11: a refresh token only when the client may hold ``offline_access`` (allowed, with
    the ``refresh_token`` grant), the request carried it and the citizen's consent includes it."""
    return (
        OFFLINE_ACCESS in parse(client_allowed)
        and "refresh_token" in (client_grant_types or ())
        and OFFLINE_ACCESS in parse(requested)
        and OFFLINE_ACCESS in parse(consented)
    )
