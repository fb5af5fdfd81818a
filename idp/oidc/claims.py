"""What an agency receives about a citizen: claims per scope and the pairwise ``sub``.

One place governs release for the ID token, userinfo and introspection: the
token's scope, which is already the intersection of what the client is allowed
and what it requested, and what the citizen consented to (OIDC Core §5.4).
``sub`` is pairwise per sector by default (OIDC Core §8.1), so two agencies
cannot join their records through it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from idp.accounts.models import Account
from idp.clients import scopes as sc
from idp.clients.models import Client

TEST_ACCOUNT_CLAIM = "https://ugyfelkapu.gov.hu/claims/test_account"


@dataclass(frozen=True)
class Subject:
    """The citizen as one client sees them: the ``user`` Authlib passes around."""

    account: Account
    client: Client


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


def user_claims(account: Account, client: Client, scope: str, pairwise_secret: bytes) -> dict:
    """Claims released for ``scope`` (already allowed ∩ requested ∩ consented)."""
    granted = set(sc.parse(scope))
    claims: dict = {"sub": subject_identifier(account, client, pairwise_secret)}
    if account.is_test:
        claims[TEST_ACCOUNT_CLAIM] = True
    if sc.PROFILE in granted:
        claims.update(
            name=account.display_name,
            family_name=account.family_name,
            given_name=account.given_name,
            birthdate=account.birth_date.isoformat() if account.birth_date else None,
            locale=account.locale,
        )
    if sc.EMAIL in granted:
        claims.update(email=account.email, email_verified=bool(account.email_verified))
    if sc.ADDRESS in granted:
        claims["address"] = _address(account)
    if sc.NATURAL_IDENTITY in granted and sc.NATURAL_IDENTITY in set(sc.parse(client.allowed_scopes)):
        claims.update(
            birth_family_name=account.birth_family_name,
            birth_given_name=account.birth_given_name,
            place_of_birth={k: v for k, v in (("locality", account.birth_place), ("country", account.birth_country)) if v},
        )
        claims[sc.MOTHER_BIRTH_NAME_CLAIM] = {
            "family_name": account.mother_birth_family_name,
            "given_name": account.mother_birth_given_name,
        }
    return {k: v for k, v in claims.items() if v is not None}
