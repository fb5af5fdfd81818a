"""Scopes and the claims they group (PRODUCT.md, "What agencies receive").

``natural_identity`` is the sensitive scope: birth names, place of birth and
the mother's birth name, released only to clients the operator approved for it.
"""

from __future__ import annotations

OPENID = "openid"
PROFILE = "profile"
EMAIL = "email"
ADDRESS = "address"
NATURAL_IDENTITY = "natural_identity"

BASIC_SCOPES = (OPENID, PROFILE, EMAIL, ADDRESS)
SENSITIVE_SCOPES = (NATURAL_IDENTITY,)
ALL_SCOPES = BASIC_SCOPES + SENSITIVE_SCOPES

#: The mother's birth name under one namespaced (collision-resistant) claim name.
MOTHER_BIRTH_NAME_CLAIM = "https://ugyfelkapu.gov.hu/claims/mother_birth_name"

SCOPE_CLAIMS: dict[str, tuple[str, ...]] = {
    OPENID: ("sub",),
    PROFILE: ("name", "family_name", "given_name", "birthdate", "locale"),
    EMAIL: ("email", "email_verified"),
    ADDRESS: ("address",),
    NATURAL_IDENTITY: ("birth_family_name", "birth_given_name", "place_of_birth", MOTHER_BIRTH_NAME_CLAIM),
}

ALL_CLAIMS = tuple(dict.fromkeys(c for claims in SCOPE_CLAIMS.values() for c in claims))


def parse(scope: str | None) -> list[str]:
    return list(dict.fromkeys((scope or "").split()))


def join(scopes) -> str:
    """A space-separated scope string in canonical order, known scopes only."""
    wanted = set(scopes)
    return " ".join(s for s in ALL_SCOPES if s in wanted)
