"""Changing a citizen's data at the registering office (PRODUCT.md rule 9).

"az eredeti regisztrációs szerv előtt személyesen kell bejelentenie": only an
officer of the office that registered the account may change its data. An
account registered electronically has the office the operator designates for
electronic registrations (``policy.electronic_registration_office``) as its
registering office; registered while none was designated, no office may act for
it. Every change returns each field's value before and after, for
the audit record (who, when, which office, what before and after).

The same shape rules as at registration apply, a new username must be free,
and a change of the birth data must not make this account a second live
account of another natural person (rule 3).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from .errors import AccountError
from .models import Account, person_key, username_key
from .personal import DATA_FIELDS, PERSON_FIELDS, check_fields, snapshot
from .registration import DocumentShown
from .states import LIVE_STATES

REASONS = ("not_registering_office", "account_ended", "nothing_changed")

DOCUMENT_FIELDS = ("document_type", "document_number", "document_issued_on", "document_expires_on")


def may_act_for(account: Account, office_id: int) -> bool:
    """Rule 9 (and 10): is ``office_id`` the account's registering office? An account without one
    (registered electronically while the operator designated no office) has none that may act."""
    return account.registering_office_id is not None and account.registering_office_id == office_id


def check_registering_office(account: Account, office_id: int) -> None:
    if not may_act_for(account, office_id):
        raise AccountError("not_registering_office")


def change_data(
    session: Session,
    account: Account,
    office_id: int,
    changes: Mapping[str, object],
    now: datetime,
    *,
    document: DocumentShown | None = None,
) -> dict[str, tuple[object, object]]:
    """Apply ``changes`` (field → new value) and a newly shown ``document``; returns the
    changed fields as ``{field: (before, after)}``."""
    check_registering_office(account, office_id)
    if account.state not in LIVE_STATES:
        raise AccountError("account_ended")
    values = dict(changes)
    if "address_postal_code" in values and "address_country" not in values:
        values["address_country"] = account.address_country or "HU"
    cleaned = check_fields(values, now.date())
    before = snapshot(account, DATA_FIELDS + DOCUMENT_FIELDS)
    after = dict(before)
    after.update({k: v for k, v in cleaned.items() if v != before[k]})
    if document is not None:
        checked = document.check(now.date())
        after.update(
            document_type=checked.doc_type,
            document_number=checked.number,
            document_issued_on=checked.issued_on,
            document_expires_on=checked.expires_on,
        )
    changed = {k: (before[k], after[k]) for k in after if after[k] != before[k]}
    if not changed:
        raise AccountError("nothing_changed")
    if "username" in changed:
        new_key = username_key(str(after["username"]))
        if new_key != account.username_key:
            _check_unused(session, account, Account.username_key == new_key, "username_taken")
        account.username_key = new_key
    if any(name in changed for name in PERSON_FIELDS):
        birth_date = after["birth_date"]
        assert isinstance(birth_date, date)
        new_person = person_key(*(str(after[n]) for n in PERSON_FIELDS[:-1]), birth_date)
        _check_unused(session, account, Account.person_key == new_person, "person_has_account")
        account.person_key = new_person
    for name, (_old, new) in changed.items():
        setattr(account, name, new)
    if "email" in changed:
        account.email_verified = False  # typed at a counter, not yet proven to reach the citizen
    account.updated_at = now
    return changed


def _check_unused(session: Session, account: Account, condition, reason: str) -> None:
    if session.scalar(select(Account.id).where(condition, Account.id != account.id)) is not None:
        raise AccountError(reason)
