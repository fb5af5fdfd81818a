"""Account services: finding, authenticating and creating accounts.

Services own their transactions and rules; callers pass the SQLAlchemy
session, the time and the policy. The office flows of registration,
activation and erasure build on these (PRODUCT.md rules 1 to 11).
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.security.passwords import Passwords

from . import password_policy
from .errors import AccountError
from .gate import Reason
from .models import Account, username_key
from .policy import ValidityPolicy
from .validity import is_reactivation_due

_IDENTIFIER_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def new_identifier() -> str:
    """The system-generated unique identifier (rule 5): ``UK-`` and 12 unambiguous characters."""
    body = "".join(secrets.choice(_IDENTIFIER_ALPHABET) for _ in range(12))
    return f"UK-{body[:4]}-{body[4:8]}-{body[8:]}"


def find_by_username(session: Session, username: str) -> Account | None:
    return session.scalar(select(Account).where(Account.username_key == username_key(username)))


def verify_credentials(session: Session, passwords: Passwords, username: str, password: str) -> Account | None:
    """The account whose username and password these are, or None; the same work either way."""
    account = find_by_username(session, username) if username else None
    result = passwords.verify(account.password_hash if account else None, password_policy.normalise(password))
    if not result.ok or account is None:
        return None
    if result.new_hash:
        account.password_hash = result.new_hash
    return account


def check_username_free(session: Session, username: str) -> None:
    key = username_key(username)
    if not key or len(username) > 64:
        raise AccountError("username_invalid")
    if session.scalar(select(Account.id).where(Account.username_key == key)) is not None:
        raise AccountError("username_taken")


def check_person_free(session: Session, key: str) -> None:
    if session.scalar(select(Account.id).where(Account.person_key == key)) is not None:
        raise AccountError("person_has_account")


def check_password(passwords: Passwords, account: Account, password: str) -> None:
    """The account's current password, or ``password_wrong``."""
    if not passwords.verify(account.password_hash, password_policy.normalise(password or "")).ok:
        raise AccountError("password_wrong")


def change_password(
    session: Session,
    passwords: Passwords,
    account: Account,
    current: str,
    new: str,
    now: datetime,
    *,
    policy: ValidityPolicy,
) -> None:
    """The citizen chooses a new password (rule 7: required at activation, allowed any time after).

    Rule 8 (the 2009 rule): a password expired for longer than the renewal grace
    cannot be renewed online; the citizen must reactivate in person at an office.
    The current password is checked by ``check_password`` first (the caller throttles that check).
    """
    if is_reactivation_due(account, now, policy):
        raise AccountError(Reason.REACTIVATION_REQUIRED.value)
    issues = password_policy.problems(new, account.username, (account.family_name, account.given_name))
    if issues:
        raise AccountError(issues[0], problems=issues)
    if passwords.verify(account.password_hash, password_policy.normalise(new)).ok:
        raise AccountError("password_unchanged")
    account.password_hash = passwords.hash(password_policy.normalise(new))
    account.must_change_password = False
    account.password_changed_at = now
    account.updated_at = now
