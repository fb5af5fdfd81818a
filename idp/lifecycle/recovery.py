"""Recovering a forgotten password from home: the verbs (``idp.accounts.recovery`` decides).

* ``request_link``: username and email in; nothing out. Whatever the account (none, ended, a
  mismatched address, awaiting activation, due at an office, limited), the caller answers the
  same; the same queries run and one audit row is written either way, and the mail goes through
  ``later`` (the web layer runs it after the answer is sent), so neither the page, its status
  nor its timing tells whether an account matched (NIST SP 800-63B §6.1.2.3; ASVS 5.0 V6.3.8).
* ``open_link``: what the page behind a link shows (whether the second factor is owed, and how).
* ``send_code``: an emailed Ügyfélkapu+ code for a link whose account uses that method.
* ``prove_factor``: the Ügyfélkapu+ code, checked by the sign-in's own verb
  (``second_factor.verify``: authenticator, emailed code, recovery code, and whatever method
  is added there), under the same throttle key as at sign-in.
* ``reset_password``: the new password under the rules of every password change; the link is
  used up, every other link revoked, every session of the account ended and every token
  revoked, agencies holding a session told (back-channel logout), the citizen told by mail.

Audit events: ``recovery_requested`` (outcome: link, activation, office, none, limited; the
account only when one matched), ``recovery_factor_passed`` (method), ``password_recovered``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from idp import audit
from idp.accounts import recovery as rules
from idp.accounts import service as accounts
from idp.accounts.errors import AccountError
from idp.accounts.models import Account, username_key
from idp.accounts.recovery import Route
from idp.accounts.states import AccountState
from idp.audit import CITIZEN, Actor
from idp.authorizations import tokens

from . import notices, passkeys, second_factor
from .access import announce_logout, end_sessions
from .context import Context, Mail, citizen_actor, contact_of, send, transaction
from .throttling import code_key, guarded

Later = Callable[[Callable[[], object]], None]

LIMITED = "limited"
#: The method recorded when a passkey proved the second factor.
PASSKEY = "passkey"


@dataclass(frozen=True)
class LinkState:
    """What the page behind a link needs: the account, and the second factor still owed (its method) or None."""

    account: Account
    factor_owed: str | None

    def __repr__(self) -> str:
        return f"<LinkState account={self.account.id} factor_owed={self.factor_owed}>"


def _at_once(fn: Callable[[], object]) -> None:
    fn()


def request_link(
    ctx: Context, username: str, email: str, now: datetime, *, address: str = "", later: Later | None = None
) -> None:
    """A recovery request. Returns nothing on purpose: the answer is the same for every account."""
    account = rules.find_account(ctx.session, username, email)
    route = rules.route_for(account, now, ctx.policy)
    if not _within_limits(ctx, username, address):
        route_taken = LIMITED
    else:
        route_taken = route.value
    mail: Mail | None = None
    with transaction(ctx.session):
        if route_taken == Route.LINK:
            issued = rules.issue(ctx.session, account, now, ctx.recovery)
            mail = Mail(contact_of(account), "recovery_link",
                        {"url": f"{ctx.links.recovery_url}/link?token={issued.token}", "valid_until": issued.expires_at})
        elif route_taken == Route.ACTIVATION:
            mail = Mail(contact_of(account), "recovery_activation", {
                "awaiting": account.state is AccountState.AWAITING_ACTIVATION, "activation_url": ctx.links.activation_url,
                "sign_in_url": ctx.links.sign_in_url,
            })
        elif route_taken == Route.OFFICE:
            mail = Mail(contact_of(account), "recovery_office", {"verify": account.state is AccountState.PENDING_VERIFICATION})
        matched = account if route is not Route.NONE else None
        audit.record(
            ctx.session, now, "recovery_requested",
            citizen_actor(matched) if matched is not None else Actor(CITIZEN),
            matched.id if matched is not None else None, outcome=route_taken,
        )
    if mail is not None:
        (later or _at_once)(lambda: send(ctx.notifier, mail))


def _within_limits(ctx: Context, username: str, address: str) -> bool:
    limit = ctx.recovery_limit
    if limit is None:
        return True
    policy = ctx.recovery
    keys = {"recovery:user:" + username_key((username or "")[:64]): policy.per_account}
    if address:
        keys["recovery:addr:" + address] = policy.per_address
    return limit.allow(keys, int(policy.window.total_seconds()))


def _live(ctx: Context, token: str, now: datetime) -> tuple[rules.RecoveryLink, Account]:
    link = rules.find_link(ctx.session, token, now)
    return link, rules.account_of(ctx.session, link, now, ctx.policy)


def open_link(ctx: Context, token: str, now: datetime) -> LinkState:
    """The state of a link (``recovery_link_invalid`` when it cannot be used)."""
    link, account = _live(ctx, token, now)
    return LinkState(account, account.second_factor_method if rules.factor_owed(account, link) else None)


def send_code(ctx: Context, token: str, now: datetime, *, again: bool = False) -> bool:
    """An emailed Ügyfélkapu+ code for the link's account (``second_factor.send_code``)."""
    _link, account = _live(ctx, token, now)
    if not again and second_factor.code_waiting(ctx, account, now):
        return True  # the page shown again keeps the code already on its way
    return second_factor.send_code(ctx, account, now, again=again)


def prove_factor(ctx: Context, token: str, code: str, now: datetime, *, address: str = "") -> str:
    """The second factor through a live link; returns the method used. Throttled with the
    sign-in's codes (``code_key``): a recovery link opens no second door to guessing them."""
    link, account = _live(ctx, token, now)
    if not account.has_second_factor:
        return ""
    method = guarded(ctx, code_key(account), address,
                     lambda: second_factor.verify(ctx, account, (code or "").strip(), now))
    with transaction(ctx.session):
        rules.record_factor(link, method, now)
        audit.record(ctx.session, now, "recovery_factor_passed", citizen_actor(account), account.id, method=method)
    return method


def prove_passkey(ctx: Context, rp, token: str, challenge: str, response: str, now: datetime, *,
                  address: str = "") -> str:
    """The second factor through a live link, proven with one of the account's passkeys."""
    link, account = _live(ctx, token, now)
    if not account.has_second_factor:
        return ""
    passkeys.prove(ctx, rp, account, challenge, response, now, address=address)
    with transaction(ctx.session):
        rules.record_factor(link, PASSKEY, now)
        audit.record(ctx.session, now, "recovery_factor_passed", citizen_actor(account), account.id, method=PASSKEY)
    return PASSKEY


def reset_password(
    ctx: Context, token: str, new: str, now: datetime, *, address: str = "", user_agent: str = ""
) -> Account:
    """The new password through a live link, once the second factor is proven. Every session of
    the account ends and every token is revoked; returns the account."""
    link, account = _live(ctx, token, now)
    if rules.factor_owed(account, link):
        raise AccountError("recovery_factor_owed")
    with transaction(ctx.session):
        accounts.change_password(ctx.session, ctx.passwords, account, "", new, now, policy=ctx.policy)
        rules.claim(ctx.session, link, now)
        rules.revoke_all(ctx.session, [account.id], now)
        ended = end_sessions(ctx.session, account.id, now, "password_recovered")
        tokens.revoke_for_accounts(ctx.session, [account.id], now)
        audit.record(
            ctx.session, now, "password_recovered", citizen_actor(account), account.id,
            factor=link.factor_method, sessions_ended=len(ended.sids),
        )
    announce_logout(ended, ctx.logout)
    notices.security_change(ctx, account, notices.PASSWORD_RECOVERED, now, address=address, user_agent=user_agent)
    return account
