"""Telling the citizen by mail that the account was used from a new browser, or that its security
changed (``idp.accounts.notices`` decides when). The mail names what happened, when, from which
browser and system and which network address, and what to do if it was not the citizen: change
the password, recover it, or go to an office.
"""

from __future__ import annotations

from datetime import datetime

from idp.accounts import devices
from idp.accounts import notices as rules
from idp.accounts.models import Account

from .context import Context, Mail, contact_of, send

PASSWORD_RECOVERED = rules.PASSWORD_RECOVERED
PASSWORD_CHANGED = rules.PASSWORD_CHANGED
SECOND_FACTOR_CHANGED = rules.SECOND_FACTOR_CHANGED
NEW_DEVICE = rules.NEW_DEVICE


def _mail(ctx: Context, account: Account, event: str, now: datetime, address: str, user_agent: str) -> Mail:
    seen = devices.describe(user_agent)
    return Mail(contact_of(account), "security_notice", {
        "event": event, "when": now, "browser": seen.browser, "system": seen.system, "address": address[:64],
        "password_url": ctx.links.password_url, "recovery_url": ctx.links.recovery_url,
    })


def note_sign_in(
    ctx: Context, account: Account, device_secret: str, now: datetime, *, address: str = "", user_agent: str = ""
) -> Mail | None:
    """In the caller's transaction: remember this browser for the account; the new-device notice
    to send after the commit, when one is due."""
    before = devices.count(ctx.session, account)
    known = devices.remember(ctx.session, account, device_secret, now)
    if not rules.is_due(NEW_DEVICE, account, now, device_known=known, devices_before=before):
        return None
    return _mail(ctx, account, NEW_DEVICE, now, address, user_agent)


def security_change(
    ctx: Context, account: Account, event: str, now: datetime, *, address: str = "", user_agent: str = "",
    mail: Mail | None = None,
) -> bool:
    """After the commit: tell the citizen of a security change when due; whether the mail went.
    ``mail``: the change's own mail where it has one (``password_changed``, ``second_factor_changed``),
    else the security notice."""
    if not rules.is_due(event, account, now):
        return False
    return send(ctx.notifier, mail or _mail(ctx, account, event, now, address, user_agent))


def deliver(ctx: Context, mail: Mail | None) -> bool:
    return mail is not None and send(ctx.notifier, mail)
