"""What the citizen does with Ügyfélkapu+: enrol, confirm, use, remove (idp.accounts.second_factor).

Audit events: ``second_factor_enrolled``, ``second_factor_removed``,
``recovery_codes_issued``, ``recovery_code_used``. A wrong code is not audited
here: the page throttles it like a wrong password.
"""

from __future__ import annotations

from datetime import datetime

from idp import audit
from idp.accounts import second_factor as rules
from idp.accounts.models import Account

from .context import Context, citizen_actor, transaction


def _sealer(ctx: Context):
    if ctx.citizen_sealer is None:
        raise RuntimeError("no sealer for citizens' second factor in this context")
    return ctx.citizen_sealer


def begin_enrolment(ctx: Context, account: Account) -> str:
    """A new, not yet counting secret (returned to show once as a QR code and as text)."""
    with transaction(ctx.session):
        return rules.begin_enrolment(account, _sealer(ctx))


def pending_secret(ctx: Context, account: Account) -> str | None:
    return rules.pending_secret(account, _sealer(ctx))


def confirm_enrolment(ctx: Context, account: Account, code: str, now: datetime) -> list[str]:
    """The first correct code: Ügyfélkapu+ is on. Returns the recovery codes (shown once)."""
    with transaction(ctx.session):
        codes = rules.confirm_enrolment(ctx.session, _sealer(ctx), account, code, now)
        audit.record(ctx.session, now, "second_factor_enrolled", citizen_actor(account), account.id)
    return codes


def verify(ctx: Context, account: Account, code: str, now: datetime) -> str:
    """An authenticator or recovery code at sign-in or step-up; returns the method used."""
    with transaction(ctx.session):
        method = rules.verify(ctx.session, _sealer(ctx), account, code, now)
        if method == rules.RECOVERY:
            audit.record(ctx.session, now, "recovery_code_used", citizen_actor(account), account.id)
    return method


def renew_recovery_codes(ctx: Context, account: Account, code: str, now: datetime) -> list[str]:
    """New recovery codes after a current code; the old ones stop working."""
    with transaction(ctx.session):
        rules.verify(ctx.session, _sealer(ctx), account, code, now)
        codes = rules.issue_recovery_codes(ctx.session, account, now)
        audit.record(ctx.session, now, "recovery_codes_issued", citizen_actor(account), account.id)
    return codes


def remove(ctx: Context, account: Account, password: str, code: str, now: datetime) -> None:
    with transaction(ctx.session):
        rules.remove(ctx.session, ctx.passwords, _sealer(ctx), account, password, code, now)
        audit.record(ctx.session, now, "second_factor_removed", citizen_actor(account), account.id)
