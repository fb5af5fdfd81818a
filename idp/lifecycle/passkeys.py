"""What the citizen does with passkeys and security keys (``idp.accounts.passkeys``): add one to
Ügyfélkapu+, use it after the password, in a step-up or (where the operator allows it) alone,
and remove it.

Adding and removing need the password and a current code of Ügyfélkapu+ (or a recovery code),
like every other change of it, throttled under the account's code key; a passkey's use after
the password and in a step-up counts its failures there too, a passwordless use under the
address it came from (no account is known before the key verifies). Audit events:
``passkey_added``, ``passkey_removed`` (with the passkey's row id, never its name or key); each
is told to the citizen by the ``second_factor_changed`` mail (ASVS 5.0 V6.3.7).

The challenge of each ceremony is made here and kept by the caller server-side, once
(``idp.web.passkeys``), so whichever instance receives the answer verifies it.
"""

from __future__ import annotations

from datetime import datetime

from idp import audit
from idp.accounts import assurance
from idp.accounts import passkeys as rules
from idp.accounts import second_factor as second_factor_rules
from idp.accounts.models import Account
from idp.sessions import service as sessions
from idp.sessions.models import SsoSession
from idp.security.secrets import digest

from . import signin
from .context import Context, Mail, citizen_actor, contact_of, send, transaction
from .second_factor import _checked as checked
from .second_factor import _keys as keys_of
from .signin import Device, SignedIn
from .throttling import code_key, guarded

ADDED = "passkey_added"
REMOVED = "passkey_removed"


def _tell(ctx: Context, account: Account, change: str, name: str, now: datetime) -> bool:
    mail = Mail(contact_of(account), "second_factor_changed",
                {"change": change, "method": second_factor_rules.method_of(account), "passkey": name, "when": now})
    return send(ctx.notifier, mail)


def listed(ctx: Context, account: Account) -> list:
    return rules.of_account(ctx.session, account)


def registration(ctx: Context, rp: rules.RelyingParty, account: Account, challenge: str,
                 user_handle: str = "") -> rules.Ceremony:
    return rules.registration(ctx.session, rp, account, challenge, user_handle)


def authentication(ctx: Context, rp: rules.RelyingParty, challenge: str, account: Account | None = None) -> rules.Ceremony:
    """Options for a use: the account's keys, or any discoverable one (``account`` None)."""
    return rules.authentication(rp, challenge, rules.of_account(ctx.session, account) if account is not None else ())


def begin_registration(ctx: Context, account: Account, password: str, code: str, name: str, now: datetime,
                       *, address: str = "") -> str:
    """The password and a current code before a new passkey: returns the checked name and leaves
    the ceremony to the browser (``registration``, then ``register``)."""
    def check() -> str:
        with checked(ctx):
            cleaned = rules.check_name(name)
            rules.check_may_add(ctx.session, account)
            second_factor_rules.check_password_and_code(
                ctx.session, ctx.passwords, keys_of(ctx), account, password, (code or "").strip(), now)
        return cleaned

    return guarded(ctx, code_key(account), address, check)


def register(ctx: Context, rp: rules.RelyingParty, account: Account, ceremony: rules.Ceremony, response: str,
             name: str, now: datetime, *, sso: SsoSession | None = None) -> str | None:
    """Keep the passkey the browser made. Proving it (with user verification) raised the live
    session's level: returns that session's new cookie secret (None without a session)."""
    with transaction(ctx.session):
        passkey = rules.register(ctx.session, rp, account, ceremony, response, name, now)
        audit.record(ctx.session, now, "passkey_added", citizen_actor(account), account.id, passkey=passkey.id)
        secret = _raise(ctx, sso, assurance.passkey_amr(passkey.backup_eligible), now) if sso is not None else None
    _tell(ctx, account, ADDED, passkey.name, now)
    return secret


def remove(ctx: Context, account: Account, passkey_id: int, password: str, code: str, now: datetime,
           *, address: str = "") -> None:
    """Remove a passkey, after the password and a current code (or a recovery code)."""
    def check() -> str:
        with checked(ctx):
            rules.find(ctx.session, account, passkey_id)
            second_factor_rules.check_password_and_code(
                ctx.session, ctx.passwords, keys_of(ctx), account, password, (code or "").strip(), now)
            passkey = rules.remove(ctx.session, account, passkey_id)
            audit.record(ctx.session, now, "passkey_removed", citizen_actor(account), account.id, passkey=passkey_id)
        return passkey.name

    name = guarded(ctx, code_key(account), address, check)
    _tell(ctx, account, REMOVED, name, now)


def _verified(ctx: Context, rp: rules.RelyingParty, challenge: str, response: str, now: datetime,
              account: Account | None) -> rules.Use:
    with transaction(ctx.session):
        return rules.authenticate(ctx.session, rp, challenge, response, now, account=account)


def prove(ctx: Context, rp: rules.RelyingParty, account: Account, challenge: str, response: str, now: datetime,
          *, address: str = "") -> list[str]:
    """One of ``account``'s passkeys proven (account recovery's second factor), counted with the
    sign-in's codes; returns what it adds to ``amr``."""
    use = guarded(ctx, code_key(account), address, lambda: _verified(ctx, rp, challenge, response, now, account))
    return use.amr(password=False)


def second_step(ctx: Context, rp: rules.RelyingParty, account: Account, challenge: str, response: str, device: Device,
                now: datetime, *, replacing: SsoSession | None = None) -> SignedIn:
    """A passkey after the password: the session starts with both in ``amr``."""
    use = guarded(ctx, code_key(account), device.address,
                  lambda: _verified(ctx, rp, challenge, response, now, account))
    return signin.begin(ctx, account, use.amr(password=True), device, now, replacing=replacing)


def step_up(ctx: Context, rp: rules.RelyingParty, sso: SsoSession, account: Account, challenge: str, response: str,
            device: Device, now: datetime) -> str:
    """A passkey proven within a live session: its level rises; returns the new cookie secret."""
    use = guarded(ctx, code_key(account), device.address,
                  lambda: _verified(ctx, rp, challenge, response, now, account))
    with transaction(ctx.session):
        return _raise(ctx, sso, use.amr(password=False), now)


def sign_in(ctx: Context, rp: rules.RelyingParty, challenge: str, response: str, device: Device, now: datetime,
            *, replacing: SsoSession | None = None) -> SignedIn:
    """A passwordless sign-in with a discoverable credential (where the operator allows it)."""
    key = "passkey:" + digest(rules.credential_id_of(response) or "")[:32]
    use = guarded(ctx, key, device.address, lambda: _verified(ctx, rp, challenge, response, now, None))
    return signin.begin(ctx, use.account, use.amr(password=False), device, now, replacing=replacing)


def _raise(ctx: Context, sso: SsoSession, methods: list[str], now: datetime) -> str:
    """The session's ``amr`` gains ``methods``, its level follows, and it gets a new cookie secret."""
    acr = assurance.level_for([*(sso.amr or ()), *methods], ctx.assurance)
    for method in methods:
        sessions.step_up(sso, method, acr, now)
    return sessions.rotate(sso)
