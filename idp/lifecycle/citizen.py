"""What the citizen does: activate, change the password, extend the validity (rules 6–8).

Audit events: ``activated``, ``password_changed``, ``validity_extended``. The first
password change after activation completes the registration (rule 7, "A
jelszómódosítás az e-ügyindítás feltétele") and is told by the
``registration_completed`` mail; later ones by ``password_changed``.
"""

from __future__ import annotations

from datetime import datetime

from idp import audit
from idp.accounts import activation, validity
from idp.accounts import service as accounts
from idp.accounts.errors import AccountError
from idp.accounts.models import Account

from .context import Context, Mail, citizen_actor, contact_of, send, transaction


def activate(ctx: Context, username: str, initial_password: str, code: str, now: datetime) -> Account:
    """The first sign-in with the emailed code (rule 6). The page then starts the sign-in session
    and sends the citizen to choose a password: the gate keeps agencies out until then."""
    session = ctx.session
    try:
        account = activation.activate(session, ctx.passwords, username, initial_password, code, now, ctx.policy)
    except AccountError:
        session.commit()  # a wrong code stays counted, an exhausted one stays revoked
        raise
    except BaseException:
        session.rollback()
        raise
    with transaction(session):
        audit.record(
            session, now, "activated", citizen_actor(account), account.id,
            valid_until=account.valid_until.isoformat() if account.valid_until else None,
        )
    return account


def change_password(ctx: Context, account: Account, current: str, new: str, now: datetime) -> bool:
    """The citizen's own password change (rule 7; under the 2009 rule also the renewal of an
    expired password within the grace). Returns whether the notice mail went."""
    first = account.must_change_password
    with transaction(ctx.session):
        accounts.change_password(ctx.session, ctx.passwords, account, current, new, now, policy=ctx.policy)
        audit.record(ctx.session, now, "password_changed", citizen_actor(account), account.id, initial=first)
    if first:
        mail = Mail(contact_of(account), "registration_completed", {"valid_until": account.valid_until})
    else:
        mail = Mail(contact_of(account), "password_changed", {"when": now})
    return send(ctx.notifier, mail)


def extend_validity(ctx: Context, account: Account, now: datetime) -> datetime:
    """Rule 8: a full validity period from now, while the account is still valid. Returns the new end."""
    with transaction(ctx.session):
        before, after = validity.extend_validity(account, now, ctx.policy)
        audit.record(
            ctx.session, now, "validity_extended", citizen_actor(account), account.id,
            before=before.isoformat(), after=after.isoformat(),
        )
    return after
