"""Registration verbs: online, at an office, electronically; a new activation code (rules 1–6).

Audit events: ``registration_started``, ``identity_verified``, ``statement_recorded``,
``registration_completed``, ``activation_code_issued``. No event holds the initial
password or the code; the code goes only by mail (``activation_code``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from idp import audit
from idp.accounts import activation, signed_registration
from idp.accounts import registration as reg
from idp.accounts.errors import AccountError
from idp.accounts.models import Account
from idp.accounts.personal import Registration, check_registration
from idp.audit import Actor
from idp.offices.models import Office, Officer
from idp.security.secrets import KeyedDigest

from .context import Context, Mail, citizen_actor, contact_of, find_account, officer_actor, send, transaction

log = logging.getLogger("idp.lifecycle")

#: How far in the future a registration document's creation time may lie (the citizen's clock).
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class RegistrationSheet:
    """What the office prints, or the screen shows after electronic registration: once only."""

    account: Account
    identifier: str
    username: str
    name: str
    initial_password: str
    activation_deadline: datetime
    mail_sent: bool

    def __repr__(self) -> str:  # never the password
        return f"<RegistrationSheet {self.identifier}>"


@dataclass(frozen=True)
class CodeIssued:
    account: Account
    expires_at: datetime
    mail_sent: bool


def pre_register(ctx: Context, registration: Registration, now: datetime) -> Account:
    """Online pre-registration; the page shows ``account.registration_number`` to take to an office."""
    with transaction(ctx.session):
        account = reg.pre_register(ctx.session, registration, now)
        audit.record(
            ctx.session, now, "registration_started", citizen_actor(account), account.id,
            channel=reg.ONLINE, registration_number=account.registration_number,
        )
    return account


def find_pre_registration(ctx: Context, number: str) -> Account:
    """The online pre-registration an officer looks up by its number (``registration_not_found``)."""
    return reg.find_pre_registration(ctx.session, number)


def complete_registration(
    ctx: Context, officer: Officer, number: str, document: reg.DocumentShown, now: datetime, *, statement_signed: bool
) -> RegistrationSheet:
    """The officer verified the identity of an online pre-registration and the citizen signed the statement."""
    with transaction(ctx.session):
        account = reg.find_pre_registration(ctx.session, number)
        actor = officer_actor(officer)
        code = _verify_and_complete(ctx, account, document, now, actor, officer, statement_signed)
        password = activation.set_initial_password(account, ctx.passwords, now)
    return _sheet(ctx, account, password, code)


def register_in_person(
    ctx: Context,
    officer: Officer,
    registration: Registration,
    document: reg.DocumentShown,
    now: datetime,
    *,
    statement_signed: bool,
) -> RegistrationSheet:
    """A registration made from scratch at an office."""
    with transaction(ctx.session):
        if not statement_signed:
            raise AccountError("statement_not_signed")
        document.check(now.date())  # before anything is written: the officer fixes it and sends again
        account = reg.start_registration(ctx.session, registration, now)
        actor = officer_actor(officer)
        audit.record(ctx.session, now, "registration_started", actor, account.id, channel=reg.IN_PERSON)
        code = _verify_and_complete(ctx, account, document, now, actor, officer, statement_signed)
        password = activation.set_initial_password(account, ctx.passwords, now)
    return _sheet(ctx, account, password, code)


def electronic_registration_document(
    ctx: Context, registration: Registration, document: reg.DocumentShown, now: datetime
) -> bytes:
    """The document the citizen downloads and signs. Nothing is recorded yet, but every check that
    does not need the signature runs now, so nobody signs a registration that would be refused."""
    registration = check_registration(registration, now.date())
    checked = document.check(now.date())
    reg.check_free(ctx.session, registration)
    shown = reg.DocumentShown(checked.doc_type, checked.number, checked.issued_on, checked.expires_on)
    return signed_registration.render(registration, shown, ctx.statement_version, now, _seal(ctx))


def register_electronically(ctx: Context, document_bytes: bytes, signature: bytes, now: datetime) -> RegistrationSheet:
    """Rule 1, third channel: the signed registration document and its detached signature.

    The document must carry this provider's seal, unchanged, and be younger than its
    lifetime (``signed_registration``): checked before any signature work. The
    signature must be over exactly these bytes, by a certificate chaining to a
    trusted CA, valid now or at a trusted timestamp's time, not revoked, and naming
    the registered person (``esign``); it is the identity proof, and signing the
    document is signing the statement (method ``electronic``).
    """
    from idp.accounts.esign import verify_registration_signature  # pyHanko: about 0.3 s to import, so only here

    office_id = _electronic_office(ctx)
    signed = signed_registration.open_sealed(document_bytes, _seal(ctx))
    if signed.created_at > now + CLOCK_SKEW:
        raise AccountError("registration_document_invalid")  # sealed by an instance whose clock is off
    if now - signed.created_at > ctx.policy.registration_document_lifetime:
        raise AccountError("registration_document_expired")
    if signed.statement_version != ctx.statement_version:
        raise AccountError("statement_outdated")
    registration = check_registration(signed.registration, now.date())
    signed.document.check(now.date())
    reg.check_free(ctx.session, registration)
    signer = verify_registration_signature(
        bytes(document_bytes), signature, ctx.trust_anchors(),
        (registration.family_name, registration.given_name), now,
        timestamp_authorities=ctx.timestamp_authorities(), crls=ctx.crls(),
        document_created_at=signed.created_at,
    )
    with transaction(ctx.session):
        account = reg.start_registration(ctx.session, registration, now, channel=reg.E_SIGNATURE)
        actor = citizen_actor(account)
        audit.record(ctx.session, now, "registration_started", actor, account.id, channel=reg.E_SIGNATURE)
        reg.verify_identity(
            account, signed.document, now, method=reg.E_SIGNATURE, officer_id=None,
            certificate=(signer.issuer, signer.certificate_serial),
        )
        audit.record(
            ctx.session, now, "identity_verified", actor, account.id,
            method=reg.E_SIGNATURE, document_type=account.document_type,
            certificate_issuer=signer.issuer, certificate_serial=signer.certificate_serial,
            certificate_sha256=signer.fingerprint_sha256, certificate_validated_at=signer.validated_at.isoformat(),
        )
        reg.record_statement(account, signed.statement_version, signer.signing_time, reg.STATEMENT_ELECTRONIC)
        audit.record(
            ctx.session, now, "statement_recorded", actor, account.id,
            version=signed.statement_version, method=reg.STATEMENT_ELECTRONIC,
            signed_at=signer.signing_time.isoformat(), signed_at_source=signer.signing_time_source,
            timestamp_authority=signer.timestamp_authority,
            claimed_signing_time=signer.claimed_signing_time.isoformat() if signer.claimed_signing_time else None,
        )
        code = _complete(ctx, account, now, actor, office_id=office_id)
        password = activation.set_initial_password(account, ctx.passwords, now)
    return _sheet(ctx, account, password, code)


def _electronic_office(ctx: Context) -> int | None:
    """The registering office of an electronic registration (rule 9): the operator's designated
    office, or none. A designated code that names no office is a configuration error: electronic
    registration stops (``electronic_registration_unavailable``) rather than record no office."""
    code = ctx.electronic_office_code
    if not code:
        return None
    office_id = ctx.session.scalar(select(Office.id).where(Office.code == code))
    if office_id is None:
        log.error("policy.electronic_registration_office %r names no office: electronic registration refused", code)
        raise AccountError("electronic_registration_unavailable")
    return office_id


def _seal(ctx: Context) -> KeyedDigest:
    if ctx.registration_seal is None:
        raise RuntimeError("no key to seal registration documents in this context")
    return ctx.registration_seal


def issue_activation_code(ctx: Context, officer: Officer, identifier: str, now: datetime) -> CodeIssued:
    """At an office: a new code for a registration whose code expired, was used up or never arrived.
    Earlier codes stop working; the new one is valid a whole activation window."""
    with transaction(ctx.session):
        account = find_account(ctx, identifier)
        code = activation.issue_code(ctx.session, account, now, ctx.policy)
        audit.record(
            ctx.session, now, "activation_code_issued", officer_actor(officer), account.id,
            expires_at=code.expires_at.isoformat(), reissued=True,
        )
    sent = _send_code(ctx, account, code)
    return CodeIssued(account, code.expires_at, sent)


def _verify_and_complete(
    ctx: Context,
    account: Account,
    document: reg.DocumentShown,
    now: datetime,
    actor: Actor,
    officer: Officer,
    statement_signed: bool,
) -> activation.IssuedCode:
    reg.record_statement(account, ctx.statement_version, now, reg.STATEMENT_IN_PERSON, signed=statement_signed)
    reg.verify_identity(account, document, now, method=reg.IN_PERSON, officer_id=officer.id)
    audit.record(
        ctx.session, now, "identity_verified", actor, account.id,
        method=reg.IN_PERSON, document_type=account.document_type,
    )
    audit.record(
        ctx.session, now, "statement_recorded", actor, account.id,
        version=ctx.statement_version, method=reg.STATEMENT_IN_PERSON, signed_at=now.isoformat(),
    )
    return _complete(ctx, account, now, actor, office_id=officer.office_id)


def _complete(ctx: Context, account: Account, now: datetime, actor: Actor, office_id: int | None) -> activation.IssuedCode:
    reg.complete(account, now, office_id)
    audit.record(
        ctx.session, now, "registration_completed", actor, account.id,
        channel=account.registration_channel, identifier=account.identifier,
    )
    ctx.session.flush()
    code = activation.issue_code(ctx.session, account, now, ctx.policy)
    audit.record(ctx.session, now, "activation_code_issued", actor, account.id, expires_at=code.expires_at.isoformat())
    return code


def _send_code(ctx: Context, account: Account, code: activation.IssuedCode) -> bool:
    mail = Mail(
        contact_of(account), "activation_code",
        {"code": code.code, "valid_until": code.expires_at, "activation_url": ctx.links.activation_url},
    )
    return send(ctx.notifier, mail)


def _sheet(ctx: Context, account: Account, password: str, code: activation.IssuedCode) -> RegistrationSheet:
    sent = _send_code(ctx, account, code)
    return RegistrationSheet(
        account=account,
        identifier=account.identifier,
        username=account.username or "",
        name=account.display_name,
        initial_password=password,
        activation_deadline=code.expires_at,
        mail_sent=sent,
    )
