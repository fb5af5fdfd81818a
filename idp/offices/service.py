"""Offices, their officers, and an officer's sign-in (PRODUCT.md rules 9–10, "Second factor").

Officers always use a second factor: a password (the citizens' password rules)
and a TOTP code. The TOTP secret is sealed with the server's sealing key
(``idp.security.sealing``), shown once when the officer is created, and a code
is accepted once: the step it belongs to is claimed with one conditional
``UPDATE`` on ``totp_last_step``, so a code replayed, even by two requests at
the same moment, is refused.

The registering-office rule (rule 9: "az eredeti regisztrációs szerv előtt")
is checked here for an officer and again by the account services.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.accounts import password_policy
from idp.accounts.changes import may_act_for
from idp.accounts.errors import AccountError
from idp.accounts.models import Account, username_key
from idp.accounts.personal import username_problem
from idp.security import totp
from idp.security.passwords import Passwords
from idp.security.sealing import SealError, Sealer

from .models import Office, Officer

REASONS = (
    "office_code_invalid",
    "office_code_taken",
    "office_name_invalid",
    "office_not_found",
    "officer_username_taken",
    "officer_sign_in_failed",
    "not_registering_office",
    "officer_inactive",
)

_OFFICE_CODE = re.compile(r"[A-Z0-9][A-Z0-9_-]{1,31}")


def normalise_office_code(code: str) -> str:
    return (code or "").strip().upper()


def create_office(session: Session, now: datetime, code: str, name: str, address: str = "") -> Office:
    code = normalise_office_code(code)
    name = " ".join(unicodedata.normalize("NFC", name or "").split())
    if not _OFFICE_CODE.fullmatch(code):
        raise AccountError("office_code_invalid")
    if not name or len(name) > 200:
        raise AccountError("office_name_invalid")
    if find_office(session, code) is not None:
        raise AccountError("office_code_taken")
    office = Office(code=code, name=name, address=" ".join((address or "").split())[:300], created_at=now)
    session.add(office)
    session.flush()
    return office


def find_office(session: Session, code: str) -> Office | None:
    return session.scalar(select(Office).where(Office.code == normalise_office_code(code)))


def list_offices(session: Session) -> list[Office]:
    return list(session.scalars(select(Office).order_by(Office.code)))


def list_officers(session: Session, office: Office | None = None) -> list[Officer]:
    query = select(Officer).order_by(Officer.office_id, Officer.username_key)
    if office is not None:
        query = query.where(Officer.office_id == office.id)
    return list(session.scalars(query))


@dataclass(frozen=True)
class Enrolment:
    """A new officer and their TOTP secret, to be shown once and never again."""

    officer: Officer
    totp_secret: str
    provisioning_uri: str

    def __repr__(self) -> str:
        return f"<Enrolment officer={self.officer.id}>"


def create_officer(
    session: Session,
    passwords: Passwords,
    sealer: Sealer,
    now: datetime,
    office: Office,
    username: str,
    display_name: str,
    password: str,
    *,
    issuer: str = "Ügyfélkapu",
) -> Enrolment:
    """An officer of ``office``, with a password that follows the citizens' rules and a new TOTP secret."""
    problem = username_problem(username)
    if problem:
        raise AccountError(problem)
    display_name = " ".join(unicodedata.normalize("NFC", display_name or "").split())
    if not display_name or len(display_name) > 200:
        raise AccountError("field_required" if not display_name else "field_too_long")
    key = username_key(username)
    if session.scalar(select(Officer.id).where(Officer.username_key == key)) is not None:
        raise AccountError("officer_username_taken")
    issues = password_policy.problems(password, username, (display_name,))
    if issues:
        raise AccountError(issues[0], problems=issues)
    secret = totp.new_secret()
    officer = Officer(
        office_id=office.id,
        username=unicodedata.normalize("NFKC", username).strip(),
        username_key=key,
        display_name=display_name,
        password_hash=passwords.hash(password_policy.normalise(password)),
        totp_secret_sealed=sealer.seal(secret),
        totp_last_step=0,
        active=True,
        created_at=now,
    )
    session.add(officer)
    session.flush()
    uri = totp.provisioning_uri(secret, f"{office.code}:{officer.username}", issuer)
    return Enrolment(officer, secret, uri)


def reset_totp(session: Session, sealer: Sealer, officer: Officer, *, issuer: str = "Ügyfélkapu") -> Enrolment:
    """A new TOTP secret for an officer (a lost phone, or ``server.secret_key`` rotated): the old
    one stops working at once; the new one is shown once."""
    secret = totp.new_secret()
    officer.totp_secret_sealed = sealer.seal(secret)
    officer.totp_last_step = 0
    office = session.get(Office, officer.office_id)
    uri = totp.provisioning_uri(secret, f"{office.code if office else officer.office_id}:{officer.username}", issuer)
    return Enrolment(officer, secret, uri)


def find_officer(session: Session, username: str) -> Officer | None:
    return session.scalar(select(Officer).where(Officer.username_key == username_key(username or "")))


def verify_officer(
    session: Session,
    passwords: Passwords,
    sealer: Sealer,
    username: str,
    password: str,
    code: str,
    now: datetime,
) -> Officer:
    """The officer whose password and current TOTP code these are; one reason for every failure
    (unknown, inactive, wrong password, wrong or replayed code). The accepted step is claimed
    in the caller's transaction, which the caller commits with the sign-in."""
    officer = find_officer(session, username)
    checked = passwords.verify(officer.password_hash if officer else None, password_policy.normalise(password or ""))
    if officer is None or not checked.ok or not officer.active:
        raise AccountError("officer_sign_in_failed")
    try:
        secret = sealer.unseal(officer.totp_secret_sealed)
    except SealError:
        raise AccountError("officer_sign_in_failed") from None
    step = totp.matching_step(secret, code, now)
    if step is None or not totp.claim_step(session, officer, step):
        raise AccountError("officer_sign_in_failed")
    if checked.new_hash:
        officer.password_hash = checked.new_hash
    return officer


def check_registering_office(officer: Officer, account: Account) -> None:
    """Rules 9 and 10: only an officer of the account's registering office acts for it."""
    if not officer.active:
        raise AccountError("officer_inactive")
    if not may_act_for(account, officer.office_id):
        raise AccountError("not_registering_office")
