"""Ügyfélkapu+: the citizen's second factor (PRODUCT.md "Second factor (Ügyfélkapu+)").

Two methods, one at a time: a TOTP authenticator app (RFC 6238,
``idp.security.totp``, the same check as the officers'), or a six-digit code
sent by email (``idp.accounts.email_code``). One-time recovery codes
(*törlőkód*) stand in for either.

An authenticator secret is sealed at rest (``idp.security.sealing``, its own
derived key) and set aside first (``totp_pending_sealed``): it counts only once
the citizen has typed a first correct code from it, so a QR code scanned badly
never locks anyone out. Replacing the authenticator, or moving from the emailed
code to an app, sets a new secret aside the same way while the factor in use
keeps working. Confirmation moves the secret in with one conditional ``UPDATE``
(the same pending secret cannot be confirmed twice).

A code is accepted once (RFC 6238 §5.2): a TOTP time step is claimed with one
conditional ``UPDATE`` on ``totp_last_step``, a recovery code on its
``used_at``, an emailed code on its own ``used_at``. Recovery codes are
high-entropy random strings, stored as SHA-256 digests, shown once.

Choosing the emailed code needs the password; every change once Ügyfélkapu+ is
on (replace, switch, turn off, new recovery codes) needs the password and a
current code of the factor in use (or a recovery code).

Reasons: ``second_factor_failed``, ``password_wrong``, ``second_factor_not_enrolled``,
``second_factor_already_enrolled``, ``second_factor_unreadable``,
``second_factor_nothing_pending``, ``email_missing``, and those of
``idp.accounts.email_code``.
"""

from __future__ import annotations

import secrets as pysecrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from idp.security import totp
from idp.security.passwords import Passwords
from idp.security.sealing import SealError, Sealer
from idp.security.secrets import KeyedDigest, digest

from . import assurance, email_code, passkeys, password_policy
from .codes import IssuedCode
from .errors import AccountError
from .models import Account
from .records import RecoveryCode

RECOVERY_CODE_COUNT = 10
#: Crockford-like alphabet: no 0/O, 1/I/L confusion when typed from paper.
_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
_RECOVERY_LENGTH = 10  # about 50 bits each: a digest without salt or stretching is enough

OTP = assurance.OTP
EMAIL = assurance.EMAIL
RECOVERY = "recovery"


@dataclass(frozen=True)
class Keys:
    """What reads a citizen's second factor: the sealer of TOTP secrets, the digest of emailed codes."""

    sealer: Sealer
    code_digest: KeyedDigest


def normalise_recovery_code(code: str) -> str:
    return "".join(ch for ch in (code or "").upper() if ch.isalnum())


def new_recovery_code() -> str:
    raw = "".join(pysecrets.choice(_ALPHABET) for _ in range(_RECOVERY_LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def method_of(account: Account) -> str | None:
    """``otp``, ``email`` or None."""
    return account.second_factor_method


def is_enrolled(account: Account) -> bool:
    return account.has_second_factor


def can_reach(account: Account, level: str | None, policy: assurance.AssurancePolicy) -> bool:
    """Whether this citizen's second factor, with the password, meets ``level`` under ``policy``."""
    method = method_of(account)
    return method is not None and assurance.meets(assurance.level_for([assurance.PWD, method], policy), level)


def _set_aside(account: Account, sealer: Sealer) -> str:
    secret = totp.new_secret()
    account.totp_pending_sealed = sealer.seal(secret)
    return secret


def begin_enrolment(account: Account, sealer: Sealer) -> str:
    """Set aside a new secret (not yet counting); returns it to show once. Refused while a
    second factor is on: that one is replaced only after the password and a code."""
    if is_enrolled(account):
        raise AccountError("second_factor_already_enrolled")
    return _set_aside(account, sealer)


def pending_secret(account: Account, sealer: Sealer) -> str | None:
    """The set-aside, not yet confirmed secret (to show the QR code again), if any."""
    if not account.totp_pending_sealed:
        return None
    try:
        return sealer.unseal(account.totp_pending_sealed)
    except SealError:
        return None


def cancel_pending(account: Account) -> None:
    account.totp_pending_sealed = None


def _check_totp(session: Session, sealer: Sealer, account: Account, code: str, now: datetime) -> bool:
    if not account.totp_secret_sealed:
        return False
    try:
        secret = sealer.unseal(account.totp_secret_sealed)
    except SealError:
        raise AccountError("second_factor_unreadable") from None
    step = totp.matching_step(secret, code, now)
    return step is not None and totp.claim_step(session, account, step)


def issue_recovery_codes(session: Session, account: Account, now: datetime) -> list[str]:
    """Ten new recovery codes; the old ones stop working. The caller shows them once."""
    session.execute(delete(RecoveryCode).where(RecoveryCode.account_id == account.id))
    codes = [new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    for code in codes:
        session.add(
            RecoveryCode(account_id=account.id, code_digest=digest(normalise_recovery_code(code)), created_at=now)
        )
    session.flush()
    return codes


def confirm_enrolment(session: Session, sealer: Sealer, account: Account, code: str, now: datetime) -> str | None:
    """The first correct code from the set-aside secret makes it the authenticator in use (and
    ends the emailed code, if that was on). Returns the method it replaced (None: a first
    enrolment, which the caller completes with recovery codes)."""
    pending = account.totp_pending_sealed
    if not pending:
        raise AccountError("second_factor_nothing_pending")
    try:
        secret = sealer.unseal(pending)
    except SealError:
        raise AccountError("second_factor_unreadable") from None
    step = totp.matching_step(secret, code, now)
    if step is None:
        raise AccountError("second_factor_failed")
    previous = method_of(account)
    moved = {
        "totp_secret_sealed": pending, "totp_pending_sealed": None, "totp_last_step": step,
        "totp_enrolled_at": now, "email_code_enrolled_at": None,
    }
    result = session.execute(
        update(Account)
        .where(Account.id == account.id, Account.totp_pending_sealed == pending)
        .values(**moved)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise AccountError("second_factor_failed")  # a concurrent request confirmed it first
    for name, value in moved.items():
        set_committed_value(account, name, value)
    return previous


def _claim_recovery_code(session: Session, account: Account, code: str, now: datetime) -> bool:
    normal = normalise_recovery_code(code)
    if len(normal) != _RECOVERY_LENGTH:
        return False
    result = session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.account_id == account.id,
            RecoveryCode.code_digest == digest(normal),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def verify(session: Session, keys: Keys, account: Account, code: str, now: datetime) -> str:
    """Check a code of the factor in use, or a recovery code, accepting each once. Returns the
    method used (``otp``, ``email`` or ``recovery``); raises ``second_factor_failed`` or the
    emailed code's reasons."""
    method = method_of(account)
    if method is None:
        raise AccountError("second_factor_not_enrolled")
    if method == EMAIL:
        if email_code.looks_like(code):
            email_code.claim(session, keys.code_digest, account, code, now)
            return EMAIL
        if _claim_recovery_code(session, account, code, now):
            return RECOVERY
        raise AccountError("second_factor_failed")
    unreadable = False
    try:
        if _check_totp(session, keys.sealer, account, code, now):
            return OTP
    except AccountError:
        # ``server.secret_key`` rotated: the secret is lost, but a recovery code still lets the
        # citizen in (and switch Ügyfélkapu+ off to enrol again).
        unreadable = True
    if _claim_recovery_code(session, account, code, now):
        return RECOVERY
    raise AccountError("second_factor_unreadable" if unreadable else "second_factor_failed")


def issue_email_code(
    session: Session, keys: Keys, account: Account, now: datetime, *, keep_recent: bool = False
) -> IssuedCode | None:
    """A code to mail, for a citizen whose second factor is the emailed code (``email_code.issue``)."""
    if method_of(account) != EMAIL:
        raise AccountError("second_factor_not_enrolled")
    return email_code.issue(session, keys.code_digest, account, now, keep_recent=keep_recent)


def _check_password(passwords: Passwords, account: Account, password: str) -> None:
    if not passwords.verify(account.password_hash, password_policy.normalise(password or "")).ok:
        raise AccountError("password_wrong")


def check_password_and_code(
    session: Session, passwords: Passwords, keys: Keys, account: Account, password: str, code: str, now: datetime
) -> str:
    """What every change of Ügyfélkapu+ needs: the password, then a current code (the password
    first, so a wrong one spends no try of an emailed code). Returns the method the code was of."""
    _check_password(passwords, account, password)
    return verify(session, keys, account, code, now)


def begin_replacement(
    session: Session, passwords: Passwords, keys: Keys, account: Account, password: str, code: str, now: datetime
) -> str:
    """A new authenticator (a new phone, or leaving the emailed code for an app): after the
    password and a current code, a new secret is set aside; the factor in use keeps working
    until the new one is confirmed (``confirm_enrolment``)."""
    if not is_enrolled(account):
        raise AccountError("second_factor_not_enrolled")
    check_password_and_code(session, passwords, keys, account, password, code, now)
    return _set_aside(account, keys.sealer)


def _turn_off_totp(account: Account) -> None:
    account.totp_secret_sealed = None
    account.totp_pending_sealed = None
    account.totp_enrolled_at = None
    account.totp_last_step = 0


def choose_email(
    session: Session, passwords: Passwords, keys: Keys, account: Account, password: str, code: str, now: datetime
) -> str | None:
    """The emailed code as the second factor: with the password alone as a first choice, with the
    password and a current code when it replaces the authenticator. Returns the method it replaced."""
    previous = method_of(account)
    if previous == EMAIL:
        raise AccountError("second_factor_already_enrolled")
    if not account.email:
        raise AccountError("email_missing")
    if previous is None:
        _check_password(passwords, account, password)
    else:
        check_password_and_code(session, passwords, keys, account, password, code, now)
    _turn_off_totp(account)
    account.email_code_enrolled_at = now
    return previous


def remove(
    session: Session, passwords: Passwords, keys: Keys, account: Account, password: str, code: str, now: datetime
) -> str:
    """Switch Ügyfélkapu+ off: only after the password and a current code (or a recovery code).
    Returns the method that was on."""
    previous = method_of(account)
    check_password_and_code(session, passwords, keys, account, password, code, now)
    _turn_off_totp(account)
    account.email_code_enrolled_at = None
    email_code.revoke_all(session, account, now)
    session.execute(delete(RecoveryCode).where(RecoveryCode.account_id == account.id))
    passkeys.remove_all(session, account)  # a passkey is part of Ügyfélkapu+: it goes with it
    return previous
