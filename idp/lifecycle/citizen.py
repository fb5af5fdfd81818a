"""What the citizen does: activate, change the password, extend the validity (rules 6–8).

Audit events: ``activated``, ``password_changed``, ``validity_extended``, ``consent_withdrawn``,
``offline_access_withdrawn``. The first
password change after activation completes the registration (rule 7, "A
jelszómódosítás az e-ügyindítás feltétele") and is told by the
``registration_completed`` mail; later ones by ``password_changed``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from idp import audit
from idp.accounts import activation, validity
from idp.accounts import service as accounts
from idp.accounts.errors import AccountError
from idp.accounts.models import Account
from idp.clients.models import Client
from idp.authorizations import consent, logout, tokens
from idp.sessions.models import SsoSession

from . import notices
from .access import EndedAccess, announce_logout, end_sessions
from .context import Context, Mail, citizen_actor, contact_of, send, transaction
from .throttling import guarded, password_key


def activate(ctx: Context, username: str, initial_password: str, code: str, now: datetime, *, address: str = "") -> Account:
    """The first sign-in with the emailed code (rule 6), throttled like the sign-in under the same
    key. The page then starts the sign-in session (``signin.begin``) and sends the citizen to choose a
    password: the gate keeps agencies out until then."""
    return guarded(ctx, (username or "").strip(), address, lambda: _activate(ctx, username, initial_password, code, now))


def _activate(ctx: Context, username: str, initial_password: str, code: str, now: datetime) -> Account:
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


def change_password(
    ctx: Context, account: Account, current: str | None, new: str, now: datetime, *,
    end_others_but: str | None = None, address: str = "",
) -> bool:
    """The citizen's own password change (rule 7; under the 2009 rule also the renewal of an
    expired password within the grace). With ``end_others_but`` (the sid of the session making
    the change) every other sign-in session ends and the agencies holding them are told
    (back-channel logout): the citizen's choice, offered on the page. Returns whether the notice
    mail went. The current password is throttled like the sign-in (``throttling``). ``current`` is
    None only for the first change right after activation, in the sign-in session the activation
    began, where the initial password was proven a moment ago (the page decides that); any other
    account is refused ``password_wrong``."""
    if current is None:
        if not account.must_change_password:
            raise AccountError("password_wrong")
    else:
        guarded(ctx, password_key(account), address, lambda: accounts.check_password(ctx.passwords, account, current))
    first = account.must_change_password
    ended = None
    with transaction(ctx.session):
        accounts.change_password(ctx.session, ctx.passwords, account, current, new, now, policy=ctx.policy)
        if end_others_but is not None:
            ended = end_sessions(ctx.session, account.id, now, "password_changed", keep=end_others_but)
        audit.record(
            ctx.session, now, "password_changed", citizen_actor(account), account.id,
            initial=first, sessions_ended=len(ended.sids) if ended else 0,
        )
    if ended is not None:
        announce_logout(ended, ctx.logout)
    if first:
        return send(ctx.notifier, Mail(contact_of(account), "registration_completed", {"valid_until": account.valid_until}))
    return notices.security_change(ctx, account, notices.PASSWORD_CHANGED, now, address=address,
                                   mail=Mail(contact_of(account), "password_changed", {"when": now}))


def extend_validity(ctx: Context, account: Account, now: datetime) -> datetime:
    """Rule 8: a full validity period from now, while the account is still valid. Returns the new end."""
    with transaction(ctx.session):
        before, after = validity.extend_validity(account, now, ctx.policy)
        audit.record(
            ctx.session, now, "validity_extended", citizen_actor(account), account.id,
            before=before.isoformat(), after=after.isoformat(),
        )
    return after


def withdraw_consent(ctx: Context, account: Account, client_id: str, now: datetime) -> str:
    """The citizen withdraws what they allowed one agency (account page): the consent goes, so the
    next sign-in there asks again; the agency's tokens die at once; if it holds a live sign-in
    session it is told by back-channel logout. Returns the agency's name. Reason
    ``consent_not_found`` when there is nothing to withdraw."""
    session = ctx.session
    with transaction(session):
        client = session.scalar(select(Client).where(Client.client_id == client_id)) if client_id else None
        if client is None or not consent.withdraw(session, account.id, client.id):
            raise AccountError("consent_not_found")
        sids = tokens.revoke_for_client(session, account.id, client.id, now)
        live = session.scalars(
            select(SsoSession.sid).where(SsoSession.sid.in_(sids), SsoSession.ended_at.is_(None))
        ).all() if sids else []
        notices = logout.queue(session, live, now, "consent_withdrawn", client_pk=client.id)
        audit.record(session, now, "consent_withdrawn", citizen_actor(account), account.id, client_id=client.client_id)
        name = client.agency or client.name
    announce_logout(EndedAccess(account.id, (), tuple(notices)), ctx.logout)
    return name


def withdraw_offline_access(ctx: Context, account: Account, client_id: str, now: datetime) -> str:
    """The citizen ends one agency's offline access (account page) and keeps the rest of what they
    allowed: the refresh-token families die at once (OIDC Core §11, RFC 9700 §4.14), so the agency
    reads nothing more until the citizen signs in there again. Returns the agency's name. Reason
    ``offline_access_not_found`` when the agency held no offline access."""
    session = ctx.session
    with transaction(session):
        client = session.scalar(select(Client).where(Client.client_id == client_id)) if client_id else None
        if client is None or not consent.withdraw_offline(session, account.id, client.id, now):
            raise AccountError("offline_access_not_found")
        audit.record(session, now, "offline_access_withdrawn", citizen_actor(account), account.id,
                     client_id=client.client_id)
        return client.agency or client.name
