"""Signing in: the password, the second factor, the session (PRODUCT.md rules 6, 7, 11; Ügyfélkapu+).

One verb per thing the citizen does, each with the throttle inside
(``throttling``): ``sign_in`` takes the username and password and returns a
typed outcome, ``SignedIn`` or ``SecondFactorOwed``, or raises ``AccountError``
with a reason (``sign_in_failed``, ``sign_in_throttled``); ``second_step``
takes the code owed after the password; ``step_up`` raises a live session's
level with a code; ``begin`` starts the session of a sign-in already proven
(activation, which is the first sign-in).

A new session gets a new cookie secret (no fixation, ASVS 5.0 V7.2.4) and
replaces the browser's previous one, whose agencies are told by back-channel
logout after the commit. The cookie secret is returned once and stored only as
a digest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from idp import metrics
from idp.accounts import assurance
from idp.accounts import service as accounts
from idp.accounts.errors import AccountError
from idp.accounts.models import Account
from idp.sessions import service as sessions
from idp.sessions.models import SsoSession

from . import notices, second_factor
from .access import announce_logout, end_sessions
from .context import Context, transaction
from .throttling import code_key, guarded


@dataclass(frozen=True)
class Device:
    """Where the request comes from, as the session records it."""

    address: str = ""
    user_agent: str = ""
    #: The browser's long-lived device cookie (``idp.accounts.devices``); empty: not told apart.
    browser: str = ""


@dataclass(frozen=True)
class SignedIn:
    account: Account
    session: SsoSession
    #: The cookie value; only its digest is stored.
    secret: str

    def __repr__(self) -> str:
        return f"<SignedIn account={self.account.id} sid={self.session.sid}>"


@dataclass(frozen=True)
class SecondFactorOwed:
    account: Account
    #: Why no emailed code went out (``email_code_not_sent``, ``email_code_limit``…), to tell the citizen.
    refusal: AccountError | None = None


def sign_in(
    ctx: Context, username: str, password: str, device: Device, now: datetime, *, replacing: SsoSession | None = None
) -> SignedIn | SecondFactorOwed:
    """The password step. Unknown username and wrong password are one reason, after the same work."""
    username = (username or "").strip()

    def check() -> Account:
        account = accounts.verify_credentials(ctx.session, ctx.passwords, username, password or "")
        if account is None:
            raise AccountError("sign_in_failed")
        return account

    try:
        account = guarded(ctx, username, device.address, check)
    except AccountError as exc:
        metrics.sign_in(exc.reason, "password")
        raise
    if account.has_second_factor:
        ctx.session.commit()  # a rehashed password stays
        refusal = None
        if account.second_factor_method == assurance.EMAIL:
            try:
                if not second_factor.send_code(ctx, account, now):
                    refusal = AccountError("email_code_not_sent")
            except AccountError as exc:
                refusal = exc
        metrics.sign_in("second_factor_owed", "password")
        return SecondFactorOwed(account, refusal)
    signed_in = begin(ctx, account, [assurance.PWD], device, now, replacing=replacing)
    metrics.sign_in("signed_in", "password")
    return signed_in


def second_step(
    ctx: Context, account: Account, code: str, device: Device, now: datetime, *, replacing: SsoSession | None = None
) -> SignedIn:
    """The code owed after the password: the session starts at the level the two factors reach."""
    try:
        method = guarded(ctx, code_key(account), device.address,
                         lambda: second_factor.verify(ctx, account, (code or "").strip(), now))
    except AccountError as exc:
        metrics.sign_in(exc.reason, account.second_factor_method or "second_factor")
        raise
    signed_in = begin(ctx, account, [assurance.PWD, _amr_of(method)], device, now, replacing=replacing)
    metrics.sign_in("signed_in", method)
    return signed_in


def step_up(ctx: Context, sso: SsoSession, account: Account, code: str, device: Device, now: datetime) -> str:
    """A code proven within a live session: its level rises as the assurance policy says and it
    continues under a new cookie secret (returned)."""
    method = guarded(ctx, code_key(account), device.address,
                     lambda: second_factor.verify(ctx, account, (code or "").strip(), now))
    return raise_level(ctx, sso, _amr_of(method), now)


def raise_level(ctx: Context, sso: SsoSession, method: str, now: datetime) -> str:
    """A factor proven within a live session (a step-up, a newly confirmed authenticator): its level
    rises as the assurance policy says, and it continues under a new cookie secret (returned)."""
    with transaction(ctx.session):
        amr = [*(sso.amr or ()), method]
        sessions.step_up(sso, method, assurance.level_for(amr, ctx.assurance), now)
        secret = sessions.rotate(sso)
    return secret


def begin(
    ctx: Context, account: Account, amr: list[str], device: Device, now: datetime, *, replacing: SsoSession | None = None
) -> SignedIn:
    """Start the session of a proven sign-in; the browser's previous session ends (``replaced``)."""
    ended = None
    with transaction(ctx.session):
        if replacing is not None:
            ended = end_sessions(ctx.session, replacing.account_id, now, "replaced", only=[replacing.sid])
        sso, secret = sessions.start(
            ctx.session, account, now, amr, assurance.level_for(amr, ctx.assurance), device.address, device.user_agent
        )
        notice = notices.note_sign_in(ctx, account, device.browser, now, address=device.address,
                                      user_agent=device.user_agent) if device.browser else None
    if ended is not None:
        announce_logout(ended, ctx.logout)
    notices.deliver(ctx, notice)
    return SignedIn(account, sso, secret)


def _amr_of(method: str) -> str:
    # A recovery code stands in for the authenticator: RFC 8176 has no method of its own for it.
    return assurance.EMAIL if method == assurance.EMAIL else assurance.OTP
