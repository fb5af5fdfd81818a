"""The challenge of a WebAuthn ceremony, kept server-side between the page that asks the browser
and the POST that brings its answer (``idp.accounts.passkeys``).

It is kept once (``stash.keep_once``: sealed into the shared state under a random id, the cookie
holding only that id), so whichever instance receives the answer can verify it, for at most
``CHALLENGE_SECONDS``, and taken once: a replayed answer finds no challenge. Each value names
what it is for (``purpose``) and, when known, the account, so an answer to one page cannot be
spent on another.
"""

from __future__ import annotations

from idp.accounts import passkeys as rules
from idp.extensions import db
from idp.lifecycle import passkeys as service
from idp.lifecycle.context import context_for
from idp.runtime import runtime

from . import stash

KIND = "passkey_ceremony"
REGISTER = "register"
USE = "use"
PASSWORDLESS = "passwordless"
RECOVER = "recover"


def relying_party() -> rules.RelyingParty:
    rt = runtime()
    return rules.RelyingParty.of(rt.issuer, rt.settings.passkeys.relying_party_name)


def _ctx():
    return context_for(runtime(), db.session)


def keep(purpose: str, ceremony: rules.Ceremony, account_id: int | None = None, **extra) -> None:
    value = {"purpose": purpose, "challenge": ceremony.challenge, "user_handle": ceremony.user_handle,
             "account": account_id, **extra}
    stash.keep_once(KIND, value, ttl=rules.CHALLENGE_SECONDS)


def _matches(value: dict | None, purpose: str, account_id: int | None) -> dict | None:
    if not value or value.get("purpose") != purpose or value.get("account") != account_id:
        return None
    return value if isinstance(value.get("challenge"), str) else None


def peek(purpose: str, account_id: int | None = None) -> dict | None:
    return _matches(stash.peek_once(KIND, ttl=rules.CHALLENGE_SECONDS), purpose, account_id)


def take(purpose: str, account_id: int | None = None) -> dict | None:
    """The kept ceremony of ``purpose`` (for ``account_id``), removed; None when there is none."""
    return _matches(stash.take_once(KIND, ttl=rules.CHALLENGE_SECONDS), purpose, account_id)


def ceremony_of(value: dict) -> rules.Ceremony:
    return rules.Ceremony("", value["challenge"], value.get("user_handle") or "")


def offer_use(account, purpose: str = USE) -> str | None:
    """Options to use one of ``account``'s passkeys (after the password, a step-up, or account
    recovery's second factor), the challenge kept for ``purpose``; None when the account has none."""
    ctx = _ctx()
    if not service.listed(ctx, account):
        return None
    ceremony = service.authentication(ctx, relying_party(), rules.new_challenge(), account)
    keep(purpose, ceremony, account.id)
    return ceremony.options


def offer_passwordless() -> str | None:
    """Options for a passwordless sign-in with any discoverable passkey, where the operator allows it."""
    if not runtime().settings.passkeys.passwordless:
        return None
    ceremony = service.authentication(_ctx(), relying_party(), rules.new_challenge())
    keep(PASSWORDLESS, ceremony)
    return ceremony.options
