"""Registration in its three channels (PRODUCT.md rules 1–5).

"Ügyfélkapu létrehozását bárki ingyenesen kezdeményezheti": anyone may start one.

* online pre-registration ("Regisztrációját indíthatja interneten keresztül is"):
  the data of rule 3, PENDING_VERIFICATION, found at any office by a short
  registration number;
* in person at any office ("személyesen bármely okmányirodában"): the same data
  typed by the officer;
* electronically, with a digital signature: verified against a trusted CA
  (``esign``), no office.

Every channel ends the same way (``complete``): the identity was verified from
a document (rule 2), the data-provision statement was signed (rule 4: which
version, when, how), the system gives the initial password (rule 5) and the
registration awaits activation (rule 6). The unique identifier (rule 5) is
given when the record is made, so an online pre-registration has one too; it
is first shown on the registration sheet.

Duplicates (rule 3): a username is unique after NFKC and case folding, and one
natural person holds at most one live account. Both are checked first for a
clear reason, and the unique columns decide when two registrations race.
"""

from __future__ import annotations

import dataclasses
import secrets
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from idp.security.passwords import Passwords

from . import password_policy
from .documents import Document, check_document
from .errors import AccountError
from .models import Account, username_key
from .personal import Registration, apply, check_registration
from .policy import ValidityPolicy
from .service import check_person_free, check_username_free, new_identifier
from .states import AccountState, transition

IN_PERSON = "in_person"
ONLINE = "online"
E_SIGNATURE = "e_signature"
#: How the statement was signed (rule 4).
STATEMENT_IN_PERSON = "in_person"
STATEMENT_ELECTRONIC = "electronic"

REASONS = (
    "username_taken",
    "person_has_account",
    "registration_not_found",
    "not_pending_verification",
    "statement_not_signed",
    "identity_not_verified",
)

_NUMBER_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


@dataclass(frozen=True)
class DocumentShown:
    """An identity document as typed from the paper (rule 2), before ``check_document``."""

    doc_type: str
    number: str
    issued_on: date
    expires_on: date | None

    def check(self, today: date) -> Document:
        return check_document(self.doc_type, self.number, self.issued_on, self.expires_on, today)

    def __repr__(self) -> str:
        return f"<DocumentShown {self.doc_type}>"


def new_registration_number() -> str:
    """``R-`` and eight unambiguous characters: read aloud at an office counter."""
    return "R-" + "".join(secrets.choice(_NUMBER_ALPHABET) for _ in range(8))


def normalise_registration_number(value: str) -> str:
    """As the citizen reads it out: any case and spacing, with or without the ``R-``."""
    cleaned = "".join(c for c in (value or "").upper() if c.isalnum())
    if len(cleaned) == 9 and cleaned.startswith("R"):
        cleaned = cleaned[1:]
    return "R-" + cleaned if len(cleaned) == 8 else ""


def checked(session: Session, registration: Registration, today: date) -> Registration:
    """``check_registration``, with a taken username reported together with the other fields'
    problems, so the citizen learns everything on the first submit (not the username on a second)."""
    try:
        return check_registration(registration, today)
    except AccountError as exc:
        fields = exc.details.get("fields")
        if isinstance(fields, dict) and "username" not in fields:
            try:
                check_username_free(session, registration.username)
            except AccountError as taken:
                fields = {"username": taken.reason, **fields}
                raise AccountError(taken.reason, fields=fields) from None
        raise


def check_free(session: Session, registration: Registration) -> None:
    """``username_taken`` or ``person_has_account`` when a live record holds them."""
    check_username_free(session, registration.username)
    check_person_free(session, registration.person_key)


def add_guarded(session: Session, account: Account, registration: Registration) -> None:
    """Flush ``account``; a concurrent registration that took the username or the person first
    surfaces as the same reason the checks give. The transaction is then rolled back: no
    savepoint, since pysqlite's SAVEPOINT can commit the outer transaction on release."""
    session.add(account)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        check_free(session, registration)
        raise


def new_account(session: Session, registration: Registration, now: datetime, channel: str, state: AccountState) -> Account:
    """A new record for ``registration`` (already checked), without credentials."""
    check_free(session, registration)
    account = Account(
        identifier=new_identifier(),
        username_key=username_key(registration.username),
        person_key=registration.person_key,
        must_change_password=True,
        email_verified=False,
        registration_channel=channel,
        registered_at=now,
        is_test=False,
        created_at=now,
        updated_at=now,
    )
    transition(account, state, now)
    apply(account, registration)
    return account


def pre_register(session: Session, registration: Registration, now: datetime) -> Account:
    """Online pre-registration: PENDING_VERIFICATION with a registration number (rule 1)."""
    registration = checked(session, registration, now.date())
    account = new_account(session, registration, now, ONLINE, AccountState.PENDING_VERIFICATION)
    for _ in range(5):
        number = new_registration_number()
        if session.scalar(select(Account.id).where(Account.registration_number == number)) is None:
            break
    account.registration_number = number
    add_guarded(session, account, registration)
    return account


def start_registration(session: Session, registration: Registration, now: datetime, channel: str = IN_PERSON) -> Account:
    """A registration made whole in one sitting (at an office, or signed electronically):
    recorded, then verified and completed by the caller in the same transaction."""
    registration = checked(session, registration, now.date())
    account = new_account(session, registration, now, channel, AccountState.PENDING_VERIFICATION)
    add_guarded(session, account, registration)
    return account


def find_pre_registration(session: Session, number: str) -> Account:
    """The online pre-registration waiting for verification under ``number``."""
    account = session.scalar(select(Account).where(Account.registration_number == normalise_registration_number(number)))
    if account is None or account.state is not AccountState.PENDING_VERIFICATION:
        raise AccountError("registration_not_found")
    return account


def verify_identity(
    account: Account,
    document: DocumentShown,
    now: datetime,
    *,
    method: str,
    officer_id: int | None,
    certificate: tuple[str, str] | None = None,
) -> Document:
    """Rule 2: the identity was proven with ``document`` (checked and normalised here); for an
    electronic registration ``certificate`` is the signing certificate's (issuer, serial number)."""
    if account.state is not AccountState.PENDING_VERIFICATION:
        raise AccountError("not_pending_verification")
    checked = document.check(now.date())
    account.document_type = checked.doc_type
    account.document_number = checked.number
    account.document_issued_on = checked.issued_on
    account.document_expires_on = checked.expires_on
    account.verified_at = now
    account.verified_by_officer_id = officer_id
    account.verification_method = method
    account.signature_certificate_issuer, account.signature_certificate_serial = certificate or (None, None)
    account.updated_at = now
    return checked


def record_statement(account: Account, version: str, signed_at: datetime, method: str, *, signed: bool = True) -> None:
    """Rule 4: which version of the data-provision statement, when, and how it was signed."""
    if not signed:
        raise AccountError("statement_not_signed")
    if method not in (STATEMENT_IN_PERSON, STATEMENT_ELECTRONIC):
        raise ValueError(f"unknown statement method {method!r}")
    account.statement_version = version
    account.statement_signed_at = signed_at
    account.statement_method = method


def complete(account: Account, now: datetime, office_id: int | None) -> None:
    """Verified and signed: the registration awaits activation (rule 6); the office that
    completed it is its registering office (rule 9). The caller sets the initial password
    and issues the activation code (``activation``)."""
    if account.verified_at is None:
        raise AccountError("identity_not_verified")
    if account.statement_signed_at is None:
        raise AccountError("statement_not_signed")
    transition(account, AccountState.AWAITING_ACTIVATION, now)
    account.registering_office_id = office_id


def create_test_citizen(
    session: Session,
    passwords: Passwords,
    now: datetime,
    policy: ValidityPolicy,
    registration: Registration,
    password: str,
    *,
    document_number: str,
    document_type: str = "identity_card",
    office_id: int | None = None,
) -> Account:
    """An active, verified account for agencies' integration environments, marked as a test account.
    It counts as verified in person with an identity card, so agencies can try ``verified_claims``;
    the test-account claim tells them it is not a real person."""
    check_username_free(session, registration.username)
    issues = password_policy.problems(
        password, registration.username, (registration.family_name, registration.given_name)
    )
    if issues:
        raise AccountError(issues[0], problems=issues)
    check_person_free(session, registration.person_key)
    account = Account(
        identifier=new_identifier(),
        username_key=username_key(registration.username),
        password_hash=passwords.hash(password_policy.normalise(password)),
        must_change_password=False,
        password_changed_at=now,
        person_key=registration.person_key,
        email_verified=True,
        document_type=document_type,
        document_number=document_number,
        registering_office_id=office_id,
        registration_channel="test",
        verified_at=now,
        verification_method=IN_PERSON,
        registered_at=now,
        activated_at=now,
        valid_until=policy.valid_until(now),
        is_test=True,
        created_at=now,
        updated_at=now,
        **dataclasses.asdict(registration),
    )
    transition(account, AccountState.ACTIVE, now)
    session.add(account)
    session.flush()
    return account
