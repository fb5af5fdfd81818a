"""Erasing an account's personal data when it ends (PRODUCT.md rules 6, 8, 10).

A registration not activated in time lapses ("a regisztráció ... törlődik"), an
account not extended expires ("adatai törölődnek, és az ügyfélkaput
megszüntetjük"), and one deleted at the registering office is erased. In every
case the record stays as an anonymous trace that an account existed: its
identifier, when it was registered and by which office, whether it was a test
account, the state it ended in and when. Everything that names or reaches the
person goes, and with it the username and the natural identity, which become
free for a new registration.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import object_session

from . import passkeys
from .models import Account
from .states import AccountState, transition

ENDED_STATES = frozenset({AccountState.LAPSED, AccountState.EXPIRED, AccountState.DELETED})

#: Every column that holds personal data or a credential; emptied on erasure.
PERSONAL_COLUMNS = (
    "username",
    "username_key",
    "password_hash",
    "family_name",
    "given_name",
    "birth_family_name",
    "birth_given_name",
    "mother_birth_family_name",
    "mother_birth_given_name",
    "birth_place",
    "birth_country",
    "birth_date",
    "person_key",
    "document_type",
    "document_number",
    "document_issued_on",
    "document_expires_on",
    "signature_certificate_issuer",
    "signature_certificate_serial",
    "email",
    "address_postal_code",
    "address_locality",
    "address_street",
    "address_country",
    "registration_number",
)


def erase(account: Account, now: datetime, to_state: AccountState) -> None:
    """End the account in ``to_state`` (lapsed, expired or deleted) and empty its personal data."""
    if to_state not in ENDED_STATES:
        raise ValueError(f"{to_state} is not an ending state")
    transition(account, to_state, now)  # first: an illegal move raises before anything is emptied
    for column in PERSONAL_COLUMNS:
        setattr(account, column, None)
    session = object_session(account)
    if session is not None:
        passkeys.remove_all(session, account)  # a credential, and its name may name the person
    account.email_verified = False
    account.ended_at = now
