"""Ügyfélkapu+: the citizen's second factor (PRODUCT.md "Second factor (Ügyfélkapu+)").

A TOTP authenticator (RFC 6238, ``idp.security.totp``, the same check as the
officers') and one-time recovery codes (*törlőkód*). The secret is sealed at
rest (``idp.security.sealing``, its own derived key). Enrolment has two steps:
a secret is set aside, and it counts only once the citizen has typed a first
correct code from it (``totp_enrolled_at``), so a QR code scanned badly never
locks anyone out.

A code is accepted once (RFC 6238 §5.2): its time step is claimed with one
conditional ``UPDATE`` on ``totp_last_step``, so a replayed code, even by two
requests at the same moment, is refused. A recovery code is claimed the same
way on its ``used_at``. Recovery codes are high-entropy random strings, stored
as SHA-256 digests, shown once.

Reasons: ``second_factor_failed``, ``password_wrong`` (removal), ``second_factor_not_enrolled``,
``second_factor_already_enrolled``, ``second_factor_unreadable``.
"""

from __future__ import annotations

import secrets as pysecrets
from datetime import datetime

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from idp.security import totp
from idp.security.passwords import Passwords
from idp.security.sealing import SealError, Sealer
from idp.security.secrets import digest

from .errors import AccountError
from .models import Account
from .records import RecoveryCode

RECOVERY_CODE_COUNT = 10
#: Crockford-like alphabet: no 0/O, 1/I/L confusion when typed from paper.
_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
_RECOVERY_LENGTH = 10  # about 50 bits each: a digest without salt or stretching is enough

OTP = "otp"
RECOVERY = "recovery"


def normalise_recovery_code(code: str) -> str:
    return "".join(ch for ch in (code or "").upper() if ch.isalnum())


def new_recovery_code() -> str:
    raw = "".join(pysecrets.choice(_ALPHABET) for _ in range(_RECOVERY_LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def is_enrolled(account: Account) -> bool:
    return account.has_second_factor


def begin_enrolment(account: Account, sealer: Sealer) -> str:
    """Set aside a new secret (not yet counting); returns it to show once. Refused while a
    confirmed second factor exists: that one is replaced only after the password and a code."""
    if is_enrolled(account):
        raise AccountError("second_factor_already_enrolled")
    secret = totp.new_secret()
    account.totp_secret_sealed = sealer.seal(secret)
    account.totp_last_step = 0
    return secret


def pending_secret(account: Account, sealer: Sealer) -> str | None:
    """The set-aside, not yet confirmed secret (to show the QR code again), if any."""
    if is_enrolled(account) or not account.totp_secret_sealed:
        return None
    try:
        return sealer.unseal(account.totp_secret_sealed)
    except SealError:
        return None


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


def confirm_enrolment(session: Session, sealer: Sealer, account: Account, code: str, now: datetime) -> list[str]:
    """The first correct code makes the second factor count; returns the recovery codes."""
    if is_enrolled(account):
        raise AccountError("second_factor_already_enrolled")
    if not account.totp_secret_sealed:
        raise AccountError("second_factor_not_enrolled")
    if not _check_totp(session, sealer, account, code, now):
        raise AccountError("second_factor_failed")
    account.totp_enrolled_at = now
    return issue_recovery_codes(session, account, now)


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


def verify(session: Session, sealer: Sealer, account: Account, code: str, now: datetime) -> str:
    """Check an authenticator code or a recovery code, accepting each once. Returns the method
    used (``otp`` or ``recovery``); raises ``second_factor_failed``."""
    if not is_enrolled(account):
        raise AccountError("second_factor_not_enrolled")
    unreadable = False
    try:
        if _check_totp(session, sealer, account, code, now):
            return OTP
    except AccountError:
        # ``server.secret_key`` rotated: the secret is lost, but a recovery code still lets the
        # citizen in (and switch Ügyfélkapu+ off to enrol again).
        unreadable = True
    if _claim_recovery_code(session, account, code, now):
        return RECOVERY
    raise AccountError("second_factor_unreadable" if unreadable else "second_factor_failed")


def remove(
    session: Session, passwords: Passwords, sealer: Sealer, account: Account, password: str, code: str, now: datetime
) -> None:
    """Switch Ügyfélkapu+ off (a new phone: then enrol again): only after the password and a
    current code (or a recovery code)."""
    if not passwords.verify(account.password_hash, password or "").ok:
        raise AccountError("password_wrong")
    verify(session, sealer, account, code, now)
    account.totp_secret_sealed = None
    account.totp_enrolled_at = None
    account.totp_last_step = 0
    session.execute(delete(RecoveryCode).where(RecoveryCode.account_id == account.id))
