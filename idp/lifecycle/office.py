"""What an officer does for an existing account (rules 8–10).

Rule 9, "az eredeti regisztrációs szerv előtt személyesen": data changes and
deletion are made only by an officer of the registering office; the office
console guards its pages, and these verbs check again (``not_registering_office``).

Audit events: ``officer_signed_in``, ``data_changed`` (each field before and after),
``account_deleted``, ``account_reactivated``. Deletion erases the personal data and ends every
session and token at once (``access``); the goodbye mail goes to the address
captured before the erasure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from idp import audit
from idp.accounts import activation, changes, erasure
from idp.accounts.errors import AccountError
from idp.accounts.models import Account
from idp.accounts.registration import DocumentShown
from idp.accounts.states import AccountState
from idp.offices.models import Office, Officer
from idp.offices.service import check_registering_office, verify_officer

from .access import announce_logout, end_access
from .context import Context, Mail, contact_of, find_account, officer_actor, send, transaction
from .throttling import guarded


@dataclass(frozen=True)
class DataChanged:
    account: Account
    changed_fields: tuple[str, ...]
    mail_sent: bool


@dataclass(frozen=True)
class Deleted:
    identifier: str
    ended_sessions: int
    mail_sent: bool


@dataclass(frozen=True)
class Reactivated:
    """A new initial password after the 2009 rule's renewal grace: shown once on the sheet."""

    account: Account
    identifier: str
    username: str
    initial_password: str

    def __repr__(self) -> str:
        return f"<Reactivated {self.identifier}>"


def sign_in_officer(ctx: Context, username: str, password: str, code: str, now: datetime, *, address: str = "") -> Officer:
    """The office console's sign-in: password and TOTP (``officer_sign_in_failed`` for every failure),
    throttled like citizens' sign-ins under ``officer:<username>``. The accepted TOTP step is committed
    with the audit record, so the code cannot be used again."""
    assert ctx.sealer is not None, "the context needs the sealer to read TOTP secrets"
    key = "officer:" + (username or "").strip()
    return guarded(ctx, key, address, lambda: _sign_in_officer(ctx, username, password, code, now))


def _sign_in_officer(ctx: Context, username: str, password: str, code: str, now: datetime) -> Officer:
    with transaction(ctx.session):
        officer = verify_officer(ctx.session, ctx.passwords, ctx.sealer, username, password, code, now)
        audit.record(ctx.session, now, "officer_signed_in", officer_actor(officer))
    return officer


def _plain(value: object) -> object:
    return value.isoformat() if isinstance(value, date | datetime) else value


def _office_name(ctx: Context, officer: Officer) -> str:
    office = ctx.session.get(Office, officer.office_id)
    return office.name if office else ""


def change_data(
    ctx: Context,
    officer: Officer,
    identifier: str,
    values: Mapping[str, object],
    now: datetime,
    *,
    document: DocumentShown | None = None,
) -> DataChanged:
    """Rule 9: change the citizen's data on their request, at the registering office."""
    with transaction(ctx.session):
        account = find_account(ctx, identifier)
        check_registering_office(officer, account)
        old_contact = contact_of(account)
        changed = changes.change_data(ctx.session, account, officer.office_id, values, now, document=document)
        audit.record(
            ctx.session, now, "data_changed", officer_actor(officer), account.id,
            changes={k: {"before": _plain(b), "after": _plain(a)} for k, (b, a) in changed.items()},
        )
    context = {"office": _office_name(ctx, officer), "changed_fields": list(changed), "when": now}
    sent = send(ctx.notifier, Mail(contact_of(account), "data_changed", context))
    if "email" in changed:  # the old address learns of the change too: it may not have been the citizen's wish
        send(ctx.notifier, Mail(old_contact, "data_changed", context))
    return DataChanged(account, tuple(changed), sent)


def delete_account(ctx: Context, officer: Officer, identifier: str, now: datetime) -> Deleted:
    """Rule 10: deletion on request at the registering office. Personal data erased, every
    session and token ended; an anonymous record that the account existed stays."""
    with transaction(ctx.session):
        account = find_account(ctx, identifier)
        check_registering_office(officer, account)
        if not account.is_live:
            raise AccountError("account_ended")
        contact = contact_of(account)
        ended = end_access(ctx.session, account.id, now, "account_deleted")
        erasure.erase(account, now, AccountState.DELETED)
        audit.record(ctx.session, now, "account_deleted", officer_actor(officer), account.id, sessions_ended=len(ended.sids))
        office = _office_name(ctx, officer)
    announce_logout(ended, ctx.logout)
    sent = send(ctx.notifier, Mail(contact, "account_deleted", {"office": office, "when": now}))
    return Deleted(account.identifier, len(ended.sids), sent)


def reactivate(ctx: Context, officer: Officer, identifier: str, document: DocumentShown, now: datetime) -> Reactivated:
    """The 2009 rule: a password expired beyond the renewal grace is renewed in person at an office,
    after the identity is checked from a document; the citizen gets a new initial password."""
    with transaction(ctx.session):
        account = find_account(ctx, identifier)
        checked = document.check(now.date())
        password = activation.reactivate(ctx.session, ctx.passwords, account, now, ctx.policy)
        audit.record(
            ctx.session, now, "account_reactivated", officer_actor(officer), account.id, document_type=checked.doc_type
        )
    return Reactivated(account, account.identifier, account.username or "", password)
