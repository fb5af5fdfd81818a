"""What an agency receives about a citizen: the one release rule, claims per scope, the pairwise ``sub``.

One rule decides which scopes' claims are released, and the ID token, userinfo
and introspection all ask it (OIDC Core §5.4; PRODUCT.md, "What agencies receive"):

    released = allowed now ∩ requested (the token's scope) ∩ consented now

``allowed`` is the client's ``allowed_scopes`` as it stands (an operator who
withdraws an approval stops the release of tokens already issued), the token's
scope is what the agency asked for and got at authorization, and the consent
is the citizen's as it stands (consent withdrawn on the account page stops the
release at once). ``openid`` asks nothing of the citizen beyond sign-in, so it
needs no consent. A sensitive scope the client is not approved for is simply
not released; it is never an error.

``sub`` is pairwise per sector by default (OIDC Core §8.1), so two agencies
cannot join their records through it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass, field

from idp.accounts.models import Account
from idp.clients import scopes as sc
from idp.clients.models import Client

from .verified_claims import verified_claims

TEST_ACCOUNT_CLAIM = "https://ugyfelkapu.gov.hu/claims/test_account"


@dataclass(frozen=True)
class Subject:
    """The citizen as one client sees them: the ``user`` Authlib passes around, with the
    citizen's current consent to that client (space-separated scopes; none known: nothing)."""

    account: Account
    client: Client
    consented: str | None = None
    #: Claim names released in this request's ID token (set while it is made; the code exchange
    #: keeps them on the token row: the access history, ``idp.authorizations.releases``).
    released: list[str] = field(default_factory=list, compare=False)


def releasable_scopes(allowed: str | None, requested: str | None, consented: str | None) -> frozenset[str]:
    """The scopes whose claims may be released: allowed ∩ requested ∩ (consented ∪ {openid})."""
    granted = set(sc.parse(consented)) | {sc.OPENID}
    return frozenset(s for s in sc.parse(requested) if s in set(sc.parse(allowed)) and s in granted)


def released_scope(subject: Subject, requested: str | None) -> str:
    """``releasable_scopes`` for this client and citizen, as a scope string."""
    return sc.join(releasable_scopes(subject.client.allowed_scopes, requested, subject.consented))


def subject_identifier(account: Account, client: Client, pairwise_secret: bytes) -> str:
    if client.subject_type == "public":
        return account.identifier
    mac = hmac.new(pairwise_secret, f"{client.sector_identifier}\x00{account.identifier}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode("ascii")


def _address(a: Account) -> dict:
    parts = {
        "street_address": a.address_street,
        "locality": a.address_locality,
        "postal_code": a.address_postal_code,
        "country": a.address_country,
    }
    formatted = ", ".join(p for p in (a.address_postal_code and f"{a.address_postal_code} {a.address_locality}", a.address_street) if p)
    out = {k: v for k, v in parts.items() if v}
    if formatted:
        out["formatted"] = formatted
    return out


def _place_of_birth(a: Account) -> dict:
    return {k: v for k, v in (("locality", a.birth_place), ("country", a.birth_country)) if v}


def _mother_birth_name(a: Account) -> dict:
    return {k: v for k, v in (("family_name", a.mother_birth_family_name), ("given_name", a.mother_birth_given_name)) if v}


def user_claims(subject: Subject, scope: str | None, pairwise_secret: bytes) -> dict:
    """The claims released to ``subject.client`` for a token of ``scope`` (through ``releasable_scopes``)."""
    account = subject.account
    granted = releasable_scopes(subject.client.allowed_scopes, scope, subject.consented)
    claims: dict = {"sub": subject_identifier(account, subject.client, pairwise_secret)}
    if not account.is_live:  # ended and erased: the gate refuses it anyway; nothing but the pseudonym
        return claims
    if account.is_test:
        claims[TEST_ACCOUNT_CLAIM] = True
    if sc.PROFILE in granted:
        claims.update(
            name=account.display_name or None,
            family_name=account.family_name,
            given_name=account.given_name,
            birthdate=account.birth_date.isoformat() if account.birth_date else None,
            locale=account.locale,
        )
    if sc.EMAIL in granted and account.email:
        claims.update(email=account.email, email_verified=bool(account.email_verified))
    if sc.ADDRESS in granted:
        claims["address"] = _address(account) or None
    if sc.NATURAL_IDENTITY in granted:
        claims.update(
            birth_family_name=account.birth_family_name,
            birth_given_name=account.birth_given_name,
            place_of_birth=_place_of_birth(account) or None,
        )
        claims[sc.MOTHER_BIRTH_NAME_CLAIM] = _mother_birth_name(account) or None
    claims = {k: v for k, v in claims.items() if v is not None}
    if sc.VERIFIED_CLAIMS in granted:
        claims["verified_claims"] = verified_claims(account, claims)
    return {k: v for k, v in claims.items() if v is not None}
