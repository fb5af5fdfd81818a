"""Factories with named traits: ``make_account(state=ACTIVE, initial_password=True)``."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

from idp.accounts.models import Account, person_key, username_key
from idp.accounts.service import new_identifier
from idp.accounts.states import AccountState
from idp.clients.metadata import ClientMetadata, validate
from idp.clients.service import create_client
from idp.extensions import db

PASSWORD = "correct-horse-battery-staple-hu"
_seq = itertools.count(1)


def make_account(
    rt,
    *,
    username: str | None = None,
    password: str = PASSWORD,
    state: AccountState = AccountState.ACTIVE,
    initial_password: bool = False,
    valid_for: timedelta | None = timedelta(days=365),
    password_age: timedelta = timedelta(days=1),
    is_test: bool = False,
    **fields,
) -> Account:
    n = next(_seq)
    now = rt.now()
    username = username or f"polgar{n}"
    birth = date(1980, 1, 1) + timedelta(days=n)
    data = dict(
        family_name="Kovács",
        given_name=f"Éva{n}",
        birth_family_name="Nagy",
        birth_given_name=f"Éva{n}",
        mother_birth_family_name="Szabó",
        mother_birth_given_name="Mária",
        birth_place="Debrecen",
        birth_country="HU",
        birth_date=birth,
        email=f"{username}@example.hu",
        email_verified=True,
        address_postal_code="1117",
        address_locality="Budapest",
        address_street="Fő utca 1.",
        address_country="HU",
        document_type="identity_card",
        document_number=f"{n:06d}AB",
    )
    data.update(fields)
    account = Account(
        identifier=new_identifier(),
        state=state,
        state_changed_at=now,
        username=username,
        username_key=username_key(username),
        password_hash=rt.passwords.hash(password),
        must_change_password=initial_password,
        password_changed_at=now - password_age,
        person_key=person_key(
            data["birth_family_name"], data["birth_given_name"], data["mother_birth_family_name"],
            data["mother_birth_given_name"], data["birth_place"], data["birth_date"],
        ),
        registration_channel="in_person",
        registered_at=now - timedelta(days=30),
        activated_at=now - timedelta(days=29) if state == AccountState.ACTIVE else None,
        valid_until=(now + valid_for) if valid_for is not None else None,
        is_test=is_test,
        created_at=now,
        updated_at=now,
        **data,
    )
    db.session.add(account)
    db.session.commit()
    return account


def make_client(
    rt,
    *,
    name: str | None = None,
    redirect_uri: str = "https://agency.example.hu/callback",
    redirect_uris: list[str] | None = None,
    auth_method: str = "client_secret_basic",
    scopes: list[str] | None = None,
    post_logout_redirect_uris: list[str] | None = None,
    alg: str = "RS256",
    subject_type: str = "pairwise",
    jwks: dict | None = None,
    sector_identifier_uri: str | None = None,
    refresh: bool = True,
    backchannel_logout_uri: str | None = None,
):
    """Returns (client, secret)."""
    n = next(_seq)
    meta = ClientMetadata(
        name=name or f"Agency {n}",
        redirect_uris=redirect_uris or [redirect_uri],
        post_logout_redirect_uris=post_logout_redirect_uris or [],
        scopes=[*(scopes or ["openid", "profile", "email", "address"]), *(["offline_access"] if refresh else [])],
        token_endpoint_auth_method=auth_method,
        grant_types=["authorization_code", "refresh_token"] if refresh else ["authorization_code"],
        id_token_signed_response_alg=alg,
        subject_type=subject_type,
        jwks=jwks,
        sector_identifier_uri=sector_identifier_uri,
        backchannel_logout_uri=backchannel_logout_uri,
    )
    validate(meta, supported_algs=rt.keyring.supported_algorithms(), allow_loopback_http=True)
    client, secret = create_client(db.session, rt.now(), meta, created_via="test")
    db.session.commit()
    return client, secret
