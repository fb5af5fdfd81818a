"""The initial password and the activation code; activation as the first sign-in (rules 5–7).

Rule 5: "rendszer által generált egyedi azonosítót és jelszót kap": the system
generates the initial password. It is shown once (the registration sheet, or
the screen after electronic registration) and stored only as an argon2id hash.

Rule 6: "egy e-mailben küldött kód segítségével, öt napon belül aktiválnia
kell": activation is username + initial password + the emailed code, within
the activation window (``policy.activation_window``, five days). The code is
stored as a SHA-256 digest (it carries 40 random bits and is worth trying only
with the initial password), is single-use, and after ``policy.activation_attempts``
wrong tries it is revoked: the registration then needs a new code from an office.

A new code replaces every earlier one and is valid a whole window from its
issue: a registration lapses when its latest code has expired unused
(``idp.lifecycle.jobs``).

Rule 7: activation leaves ``must_change_password`` set, so the gate keeps every
agency out until the citizen has chosen a password of their own.

The 2009 rule (rule 8): a password expired beyond the renewal grace is renewed
by reactivation in person: the officer checks the identity and the citizen gets
a new initial password, to be changed at the next sign-in.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy.orm import Session

from idp.security.passwords import Passwords
from idp.security.secrets import digest, matches_digest

from . import codes, password_policy
from .codes import IssuedCode
from .errors import AccountError
from .models import Account
from .policy import ValidityPolicy
from .records import ActivationCode
from .service import find_by_username
from .states import AccountState, transition
from .validity import is_reactivation_due

_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read from paper and mail
_PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"

REASONS = (
    "activation_failed",
    "activation_code_wrong",
    "activation_code_expired",
    "activation_code_exhausted",
    "already_activated",
    "reactivation_not_needed",
)


def new_initial_password() -> str:
    """Four groups of five characters from 31 (about 99 bits), typed from a printed sheet."""
    body = "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(20))
    return "-".join(body[i : i + 5] for i in range(0, 20, 5))


def new_code() -> str:
    body = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    return f"{body[:4]}-{body[4:]}"


def normalise_code(code: str) -> str:
    """What the citizen typed, as it was issued: upper case, any spaces or dashes ignored."""
    cleaned = "".join(c for c in (code or "").upper() if c.isalnum())
    return f"{cleaned[:4]}-{cleaned[4:]}" if len(cleaned) == 8 else cleaned


def set_initial_password(account: Account, passwords: Passwords, now: datetime) -> str:
    """Generate the initial password, keep only its hash, and return it to be shown once."""
    password = new_initial_password()
    account.password_hash = passwords.hash(password_policy.normalise(password))
    account.must_change_password = True
    account.updated_at = now
    return password


def issue_code(session: Session, account: Account, now: datetime, policy: ValidityPolicy) -> IssuedCode:
    """A new activation code for a registration awaiting activation; earlier codes stop working."""
    if account.state is not AccountState.AWAITING_ACTIVATION:
        raise AccountError("already_activated" if account.state is AccountState.ACTIVE else "not_awaiting_activation")
    codes.revoke_all(session, ActivationCode, account.id, now)
    code = new_code()
    expires_at = now + policy.activation_window
    session.add(ActivationCode(account_id=account.id, code_digest=digest(code), created_at=now, expires_at=expires_at, attempts=0))
    session.flush()
    return IssuedCode(code, expires_at)


def latest_code(session: Session, account_id: int) -> ActivationCode | None:
    return codes.latest(session, ActivationCode, account_id)


def activation_deadline(session: Session, account: Account, policy: ValidityPolicy) -> datetime:
    """Until when the registration can be activated: its latest code's expiry."""
    code = latest_code(session, account.id)
    return code.expires_at if code is not None else policy.activation_deadline(account.state_changed_at)


def activate(
    session: Session,
    passwords: Passwords,
    username: str,
    initial_password: str,
    code: str,
    now: datetime,
    policy: ValidityPolicy,
) -> Account:
    """The first sign-in (rule 6). On success the account is ACTIVE with its validity set.

    Unknown username, wrong password and an account no longer awaiting activation are one reason
    (``activation_failed``).
    Only a caller who knows the initial password learns about the code: wrong,
    expired, or exhausted. A wrong try is counted even though this raises: the
    caller must commit after an ``AccountError`` (``idp.lifecycle`` does).
    """
    account = find_by_username(session, username) if username else None
    checked = passwords.verify(account.password_hash if account else None, password_policy.normalise(initial_password))
    if account is None or not checked.ok:
        raise AccountError("activation_failed")
    # An account already active answers as a wrong password does: the page must not confirm that
    # this password is right (ASVS 5.0 V6.3.8); its message points to the sign-in instead.
    if account.state is not AccountState.AWAITING_ACTIVATION:
        raise AccountError("activation_failed")
    current = latest_code(session, account.id)
    if current is None or current.used_at is not None:
        raise AccountError("activation_failed")
    if current.revoked_at is not None:
        raise AccountError("activation_code_exhausted" if current.attempts >= policy.activation_attempts else "activation_failed")
    if current.expires_at <= now:
        raise AccountError("activation_code_expired")
    if not codes.spend_attempt(session, current, policy.activation_attempts):
        raise AccountError("activation_code_exhausted")
    if not matches_digest(normalise_code(code), current.code_digest):
        if current.attempts + 1 >= policy.activation_attempts:
            codes.revoke(session, current, now)
            raise AccountError("activation_code_exhausted")
        raise AccountError("activation_code_wrong", attempts_left=policy.activation_attempts - current.attempts - 1)
    if not codes.claim(session, current, now):
        raise AccountError("activation_failed")  # a concurrent activation won
    transition(account, AccountState.ACTIVE, now)
    account.activated_at = now
    account.valid_until = policy.valid_until(now)
    account.email_verified = True  # the code reached the mailbox
    return account


def reactivate(session: Session, passwords: Passwords, account: Account, now: datetime, policy: ValidityPolicy) -> str:
    """The 2009 rule: a password expired beyond the renewal grace is reactivated in person; returns
    a new initial password to be shown once. The account stays ACTIVE."""
    if not is_reactivation_due(account, now, policy):
        raise AccountError("reactivation_not_needed")
    password = set_initial_password(account, passwords, now)
    account.password_changed_at = now
    return password
