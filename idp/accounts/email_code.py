"""Ügyfélkapu+ by email: a six-digit code sent to the citizen's address (PRODUCT.md "Second factor
(Ügyfélkapu+)": "a 6-digit code sent by email and valid for 10 minutes").

A code is valid ten minutes and works once: it is claimed with one conditional
``UPDATE`` of ``used_at`` (``idp.accounts.codes``), as a TOTP step is. Each try is
counted by a conditional ``UPDATE`` before the comparison, and the fifth wrong
one revokes the code. Sending a new code revokes every earlier one. The code is
stored as a keyed digest (``idp.security.secrets.KeyedDigest``: a plain digest
of six digits is reversed by trying a million values), bound to the account,
and compared in constant time.

Sending is limited, so that someone who knows the password can flood neither the
citizen's mailbox nor the mail server: a new code no sooner than a minute after
the last one still live, and at most ten an hour.

Reasons: ``email_code_missing`` (none waiting), ``email_code_expired``,
``email_code_exhausted``, ``second_factor_failed`` (wrong, or already used),
``email_code_too_soon`` (with ``seconds``), ``email_code_limit``.
"""

from __future__ import annotations

import math
import secrets
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from idp.security.secrets import KeyedDigest

from . import codes
from .codes import IssuedCode
from .errors import AccountError
from .models import Account
from .records import EmailCode

DIGITS = 6
LIFETIME = timedelta(minutes=10)
MAX_ATTEMPTS = 5
RESEND_AFTER = timedelta(seconds=60)
PER_HOUR = 10


def new_code() -> str:
    return f"{secrets.randbelow(10**DIGITS):0{DIGITS}d}"


def normalise(code: str) -> str:
    return "".join(ch for ch in (code or "") if not ch.isspace() and ch != "-")


def looks_like(code: str) -> bool:
    """Six ASCII digits (spaces and dashes ignored): an emailed code rather than a recovery code."""
    value = normalise(code)
    return len(value) == DIGITS and value.isascii() and value.isdigit()


def _keyed(account: Account, code: str) -> str:
    return f"{account.id}:{normalise(code)}"


def is_live(code: EmailCode | None, now: datetime) -> bool:
    return code is not None and code.used_at is None and code.revoked_at is None and code.expires_at > now


def waiting(session: Session, account: Account, now: datetime) -> EmailCode | None:
    """The code the citizen can type now, if one was sent and is still good."""
    code = codes.latest(session, EmailCode, account.id)
    return code if is_live(code, now) else None


def issue(
    session: Session, digest: KeyedDigest, account: Account, now: datetime, *, keep_recent: bool = False
) -> IssuedCode | None:
    """A new code for ``account`` (earlier ones stop working), for the caller to mail.

    With ``keep_recent`` (right after the password) a live code sent less than a minute ago is
    kept and None returned: the citizen has it already. Otherwise that is ``email_code_too_soon``.
    """
    if not account.email:
        raise AccountError("email_missing")
    current = waiting(session, account, now)
    if current is not None and now - current.created_at < RESEND_AFTER:
        if keep_recent:
            return None
        wait = current.created_at + RESEND_AFTER - now
        raise AccountError("email_code_too_soon", seconds=max(math.ceil(wait.total_seconds()), 1))
    sent = session.scalar(
        select(func.count(EmailCode.id)).where(
            EmailCode.account_id == account.id, EmailCode.created_at > now - timedelta(hours=1)
        )
    )
    if sent >= PER_HOUR:
        raise AccountError("email_code_limit")
    codes.revoke_all(session, EmailCode, account.id, now)
    code = new_code()
    expires_at = now + LIFETIME
    session.add(
        EmailCode(account_id=account.id, code_digest=digest(_keyed(account, code)), created_at=now,
                  expires_at=expires_at, attempts=0)
    )
    session.flush()
    return IssuedCode(code, expires_at)


def claim(session: Session, digest: KeyedDigest, account: Account, code: str, now: datetime) -> None:
    """Accept the latest code once, or raise. A wrong try is counted even though this raises:
    the caller must commit after an ``AccountError`` (``idp.lifecycle.second_factor`` does)."""
    current = codes.latest(session, EmailCode, account.id)
    if current is None or (current.revoked_at is not None and current.attempts < MAX_ATTEMPTS):
        raise AccountError("email_code_missing")
    if current.used_at is not None:
        raise AccountError("second_factor_failed")
    if current.revoked_at is not None:
        raise AccountError("email_code_exhausted")
    if current.expires_at <= now:
        raise AccountError("email_code_expired")
    if not codes.spend_attempt(session, current, MAX_ATTEMPTS):
        raise AccountError("email_code_exhausted")
    if not digest.matches(_keyed(account, code), current.code_digest):
        if current.attempts + 1 >= MAX_ATTEMPTS:
            codes.revoke(session, current, now)
            raise AccountError("email_code_exhausted")
        raise AccountError("second_factor_failed")
    if not codes.claim(session, current, now):
        raise AccountError("second_factor_failed")  # a concurrent request used it first


def revoke_all(session: Session, account: Account, now: datetime) -> None:
    codes.revoke_all(session, EmailCode, account.id, now)
