"""What the citizen does with Ügyfélkapu+ (idp.accounts.second_factor): enrol an authenticator
app or choose the emailed code, use it, replace it, switch, renew recovery codes, turn it off.

Audit events: ``second_factor_enrolled`` (with the method), ``second_factor_replaced``,
``second_factor_method_changed`` (from, to), ``second_factor_removed``,
``authenticator_replacement_started``, ``recovery_codes_issued``, ``recovery_code_used``.
A wrong code is not audited: the verbs that check the password and a code throttle them under
the account's code key (``throttling``); ``verify`` is throttled by the sign-in verbs that call it.

Every change is told to the citizen by the ``second_factor_changed`` mail (ASVS 5.0 V6.3.7),
so someone who learned the password and a code cannot change Ügyfélkapu+ unnoticed. The
sign-in code goes out in the ``second_factor_code`` mail, in the citizen's language.

A refused code must stay counted (an emailed code's tries, its revocation after the fifth):
``_checked`` commits after an ``AccountError`` where ``transaction`` would roll back. The
domain verbs check before they change anything, so nothing else is committed then.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from idp import audit
from idp.accounts import email_code
from idp.accounts import second_factor as rules
from idp.accounts.errors import AccountError
from idp.accounts.models import Account

from . import notices
from .context import Context, Mail, citizen_actor, contact_of, send, transaction
from .throttling import code_key, guarded

ENROLLED = "enrolled"
REPLACED = "replaced"
METHOD_CHANGED = "method_changed"
REMOVED = "removed"
RECOVERY_CODES_RENEWED = "recovery_codes_renewed"


def _keys(ctx: Context) -> rules.Keys:
    if ctx.citizen_sealer is None or ctx.email_code_digest is None:
        raise RuntimeError("no keys for citizens' second factor in this context")
    return rules.Keys(ctx.citizen_sealer, ctx.email_code_digest)


@contextmanager
def _checked(ctx: Context) -> Iterator[None]:
    try:
        yield
        ctx.session.commit()
    except AccountError:
        ctx.session.commit()  # a wrong emailed code stays counted, an exhausted one stays revoked
        raise
    except BaseException:
        ctx.session.rollback()
        raise


def _tell(ctx: Context, account: Account, change: str, now: datetime) -> bool:
    mail = Mail(contact_of(account), "second_factor_changed",
                {"change": change, "method": rules.method_of(account), "when": now})
    return notices.security_change(ctx, account, notices.SECOND_FACTOR_CHANGED, now, mail=mail)


def _record(ctx: Context, account: Account, event: str, now: datetime, **details) -> None:
    audit.record(ctx.session, now, event, citizen_actor(account), account.id, **details)


def begin_enrolment(ctx: Context, account: Account) -> str:
    """A new, not yet counting secret (returned to show once as a QR code and as text)."""
    with transaction(ctx.session):
        return rules.begin_enrolment(account, _keys(ctx).sealer)


def pending_secret(ctx: Context, account: Account) -> str | None:
    return rules.pending_secret(account, _keys(ctx).sealer)


def cancel_pending(ctx: Context, account: Account) -> None:
    """Drop a set-aside authenticator secret; the factor in use stays as it was."""
    with transaction(ctx.session):
        rules.cancel_pending(account)


def confirm_enrolment(ctx: Context, account: Account, code: str, now: datetime) -> list[str]:
    """The first correct code from the set-aside secret: the authenticator app is on. Returns the
    recovery codes to show once when Ügyfélkapu+ was off; a replacement keeps the existing ones."""
    with transaction(ctx.session):
        previous = rules.confirm_enrolment(ctx.session, _keys(ctx).sealer, account, code, now)
        codes: list[str] = []
        if previous is None:
            codes = rules.issue_recovery_codes(ctx.session, account, now)
            change = ENROLLED
            _record(ctx, account, "second_factor_enrolled", now, method=rules.OTP)
        elif previous == rules.OTP:
            change = REPLACED
            _record(ctx, account, "second_factor_replaced", now, method=rules.OTP)
        else:
            change = METHOD_CHANGED
            _record(ctx, account, "second_factor_method_changed", now, before=previous, after=rules.OTP)
    _tell(ctx, account, change, now)
    return codes


def choose_email(ctx: Context, account: Account, password: str, code: str, now: datetime, *, address: str = "") -> list[str]:
    """The emailed code as the second factor. Returns the recovery codes to show once when
    Ügyfélkapu+ was off; leaving the authenticator keeps the existing ones."""
    return guarded(ctx, code_key(account), address, lambda: _choose_email(ctx, account, password, code, now))


def _choose_email(ctx: Context, account: Account, password: str, code: str, now: datetime) -> list[str]:
    with _checked(ctx):
        previous = rules.choose_email(ctx.session, ctx.passwords, _keys(ctx), account, password, code, now)
        codes: list[str] = []
        if previous is None:
            codes = rules.issue_recovery_codes(ctx.session, account, now)
            _record(ctx, account, "second_factor_enrolled", now, method=rules.EMAIL)
        else:
            _record(ctx, account, "second_factor_method_changed", now, before=previous, after=rules.EMAIL)
    _tell(ctx, account, ENROLLED if previous is None else METHOD_CHANGED, now)
    return codes


def begin_replacement(ctx: Context, account: Account, password: str, code: str, now: datetime, *, address: str = "") -> str:
    """After the password and a current code, a new authenticator secret is set aside (shown once
    as a QR code); the factor in use keeps working until the new one is confirmed."""
    return guarded(ctx, code_key(account), address, lambda: _begin_replacement(ctx, account, password, code, now))


def _begin_replacement(ctx: Context, account: Account, password: str, code: str, now: datetime) -> str:
    with _checked(ctx):
        secret = rules.begin_replacement(ctx.session, ctx.passwords, _keys(ctx), account, password, code, now)
        _record(ctx, account, "authenticator_replacement_started", now, method=rules.method_of(account))
    return secret


def send_code(ctx: Context, account: Account, now: datetime, *, again: bool = False) -> bool:
    """Mail a sign-in code (emailed-code method). Right after the password (``again`` false) a code
    sent less than a minute ago is kept, not sent twice. Returns whether a mail went out (or
    was not needed); raises ``email_code_too_soon`` or ``email_code_limit``."""
    with transaction(ctx.session):
        issued = rules.issue_email_code(ctx.session, _keys(ctx), account, now, keep_recent=not again)
    if issued is None:
        return True
    mail = Mail(contact_of(account), "second_factor_code", {"code": issued.code, "valid_until": issued.expires_at})
    if send(ctx.notifier, mail):
        return True
    with transaction(ctx.session):
        email_code.revoke_all(ctx.session, account, now)  # a code that never left must not hold back the next
    return False


def code_waiting(ctx: Context, account: Account, now: datetime) -> bool:
    """Whether an emailed code the citizen can type now is out."""
    return email_code.waiting(ctx.session, account, now) is not None


def verify(ctx: Context, account: Account, code: str, now: datetime) -> str:
    """A code at sign-in or step-up; returns the method used (``otp``, ``email``, ``recovery``)."""
    with _checked(ctx):
        method = rules.verify(ctx.session, _keys(ctx), account, code, now)
        if method == rules.RECOVERY:
            _record(ctx, account, "recovery_code_used", now)
    return method


def renew_recovery_codes(ctx: Context, account: Account, password: str, code: str, now: datetime, *, address: str = "") -> list[str]:
    """Ten new recovery codes after the password and a current code; the old ones stop working."""
    return guarded(ctx, code_key(account), address, lambda: _renew_recovery_codes(ctx, account, password, code, now))


def _renew_recovery_codes(ctx: Context, account: Account, password: str, code: str, now: datetime) -> list[str]:
    with _checked(ctx):
        rules.check_password_and_code(ctx.session, ctx.passwords, _keys(ctx), account, password, code, now)
        codes = rules.issue_recovery_codes(ctx.session, account, now)
        _record(ctx, account, "recovery_codes_issued", now)
    _tell(ctx, account, RECOVERY_CODES_RENEWED, now)
    return codes


def remove(ctx: Context, account: Account, password: str, code: str, now: datetime, *, address: str = "") -> None:
    """Ügyfélkapu+ off, after the password and a current code."""
    guarded(ctx, code_key(account), address, lambda: _remove(ctx, account, password, code, now))


def _remove(ctx: Context, account: Account, password: str, code: str, now: datetime) -> None:
    with _checked(ctx):
        previous = rules.remove(ctx.session, ctx.passwords, _keys(ctx), account, password, code, now)
        _record(ctx, account, "second_factor_removed", now, method=previous)
    _tell(ctx, account, REMOVED, now)
