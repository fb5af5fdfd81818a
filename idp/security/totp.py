"""Time-based one-time passwords (RFC 6238) for officers and for citizens' Ügyfélkapu+.

Thirty-second steps, six digits, SHA-1: what every authenticator app reads from
an ``otpauth://`` URI. A code is checked against the current step and one step
either side (clock drift), and the caller learns *which* step matched so it can
refuse a code whose step was already used (RFC 6238 §5.2: accept a code once).
"""

from __future__ import annotations

import hmac
from datetime import datetime

import pyotp
from sqlalchemy import update
from sqlalchemy.orm import Session

STEP_SECONDS = 30
DIGITS = 6


def new_secret() -> str:
    """A 160-bit base32 secret (RFC 4226 §4 recommends at least 128 bits; 160 matches SHA-1)."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, account_name: str, issuer: str) -> str:
    """The ``otpauth://totp/...`` URI an authenticator app scans (as a QR code) or imports."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=account_name, issuer_name=issuer
    )


def step_of(now: datetime) -> int:
    return int(now.timestamp()) // STEP_SECONDS


def code_at(secret: str, now: datetime) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).at(now)


def matching_step(secret: str, code: str, now: datetime, window: int = 1) -> int | None:
    """The time step whose code ``code`` is (within ``window`` steps of now), or None."""
    code = (code or "").replace(" ", "")
    if len(code) != DIGITS or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    current = step_of(now)
    found = None
    for step in range(current - window, current + window + 1):
        # Every candidate is compared (no early exit), in constant time.
        if hmac.compare_digest(totp.generate_otp(step), code) and found is None:
            found = step
    return found


def claim_step(session: Session, holder, step: int) -> bool:
    """Accept a code's time step once (RFC 6238 §5.2): only a step later than every step this
    holder (an account or an officer, anything with ``id`` and ``totp_last_step``) used before.

    One conditional ``UPDATE`` decides, so two requests with the same code cannot both win.
    """
    entity = type(holder)
    result = session.execute(
        update(entity)
        .where(entity.id == holder.id, entity.totp_last_step < step)
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 1:
        holder.totp_last_step = step
        return True
    return False
