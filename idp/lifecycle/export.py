"""The citizen's own data, to take with them (GDPR Articles 15 and 20; issue 12, "Take their data").

A read model: one document holding what the provider keeps about the account (the personal data,
how the identity was verified, the validity, the Ügyfélkapu+ methods and passkeys by name, the sign-in
sessions, the agencies allowed and what each may receive, the access history, and the audit
events about the account). The web tier renders it as a page and serves it as JSON; nothing here
changes, commits or audits anything.

Never in it: a password or its hash, a TOTP secret, a recovery code or its digest, a token, a
code, the pairwise secret; not the officer's username behind an office's action (their personal
data, not the citizen's: the office is named instead).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from idp.accounts import passkeys
from idp.accounts.models import Account
from idp.accounts.policy import ValidityPolicy
from idp.accounts.records import RecoveryCode
from idp.audit import AuditEvent
from idp.authorizations import releases
from idp.clients import scopes as sc
from idp.offices.models import Office
from idp.sessions.service import Timeouts

from .overview import overview

FORMAT = "ugyfelkapu-personal-data/1"
#: Enough for any account's history; the page and the file say when a list was cut.
HISTORY_LIMIT = 5000
AUDIT_LIMIT = 5000
#: Audit detail keys that never belong in a download, whatever an event recorded.
_WITHHELD = ("secret", "token", "password", "hash", "digest")


def _when(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _office(office: Office | None) -> dict | None:
    if office is None:
        return None
    return {"code": office.code, "name": office.name, "address": office.address or None}


def _details(details: dict | None) -> dict:
    return {k: v for k, v in (details or {}).items() if not any(word in k.lower() for word in _WITHHELD)}


def personal_data(
    session: Session, account: Account, now: datetime, policy: ValidityPolicy, timeouts: Timeouts,
    current_sid: str | None = None,
) -> dict:
    """Everything the provider keeps about ``account``, as a JSON-ready document."""
    view = overview(session, account, current_sid, now, timeouts)
    offices = {o.id: o for o in session.scalars(select(Office))}
    unused_codes = session.scalar(
        select(func.count()).select_from(RecoveryCode)
        .where(RecoveryCode.account_id == account.id, RecoveryCode.used_at.is_(None))
    )
    methods = []
    if account.totp_enrolled_at is not None and account.totp_secret_sealed is not None:
        methods.append({"method": "otp", "enrolled_at": _when(account.totp_enrolled_at)})
    if account.email_code_enrolled_at is not None:
        methods.append({"method": "email", "enrolled_at": _when(account.email_code_enrolled_at)})
    history = releases.history(session, account.id, limit=HISTORY_LIMIT)
    events = list(session.scalars(
        select(AuditEvent).where(AuditEvent.account_id == account.id)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(AUDIT_LIMIT)
    ))
    return {
        "format": FORMAT,
        "generated_at": _when(now),
        "account": {
            "identifier": account.identifier,
            "username": account.username,
            "family_name": account.family_name,
            "given_name": account.given_name,
            "birth_family_name": account.birth_family_name,
            "birth_given_name": account.birth_given_name,
            "mother_birth_family_name": account.mother_birth_family_name,
            "mother_birth_given_name": account.mother_birth_given_name,
            "birth_date": _when(account.birth_date),
            "birth_place": account.birth_place,
            "birth_country": account.birth_country,
            "email": account.email,
            "email_verified": bool(account.email_verified),
            "address": {
                "postal_code": account.address_postal_code,
                "locality": account.address_locality,
                "street": account.address_street,
                "country": account.address_country,
            },
            "locale": account.locale,
            "test_account": bool(account.is_test),
        },
        "identity_verification": {
            "method": account.verification_method,
            "verified_at": _when(account.verified_at),
            "document_type": account.document_type,
            "document_number": account.document_number,
            "document_issued_on": _when(account.document_issued_on),
            "document_expires_on": _when(account.document_expires_on),
            "signature_certificate_issuer": account.signature_certificate_issuer,
            "signature_certificate_serial": account.signature_certificate_serial,
            "statement_version": account.statement_version,
            "statement_signed_at": _when(account.statement_signed_at),
            "statement_method": account.statement_method,
        },
        "registration": {
            "channel": account.registration_channel,
            "registered_at": _when(account.registered_at),
            "activated_at": _when(account.activated_at),
            "registering_office": _office(view.office),
        },
        "validity": {
            "state": str(account.state),
            "valid_until": _when(account.valid_until),
            "password_changed_at": _when(account.password_changed_at),
            "password_expires_at": _when(policy.password_expires_at(account.password_changed_at)),
            "must_change_password": bool(account.must_change_password),
        },
        "second_factor": {
            "methods": methods,
            "recovery_codes_unused": int(unused_codes or 0),
            # By the name the citizen gave each: never the credential or its public key.
            "passkeys": [
                {"name": p.name, "added_at": _when(p.created_at), "last_used_at": _when(p.last_used_at),
                 "synced": bool(p.backup_eligible)}
                for p in passkeys.of_account(session, account)
            ],
        },
        "sessions": [
            {
                "signed_in_at": _when(s.signed_in_at), "last_seen_at": _when(s.last_seen_at),
                "ip_address": s.ip_address or None, "browser": s.browser or None, "system": s.system or None,
                "second_factor": s.second_factor, "this_device": s.is_current,
            }
            for s in view.sessions
        ],
        "agencies": [
            {
                "agency": a.agency, "client_name": a.client_name, "client_id": a.client_id,
                "scopes": list(a.scopes),
                "claims": [c for s in a.scopes for c in sc.SCOPE_CLAIMS.get(s, ())],
                "offline_access": a.offline,
                "granted_at": _when(a.granted_at), "updated_at": _when(a.updated_at),
            }
            for a in view.agencies
        ],
        "access_history": [
            {
                "agency": r.agency, "client_name": r.client_name, "channel": r.channel, "claims": list(r.claims),
                "first_at": _when(r.first_at), "last_at": _when(r.last_at), "count": r.count,
            }
            for r in history
        ],
        "audit_events": [
            {
                "at": _when(e.at), "event": e.event, "actor_kind": e.actor_kind,
                "office": _office(offices.get(e.office_id)) if e.office_id else None,
                "details": _details(e.details),
            }
            for e in events
        ],
    }
