"""The citizen's consent per agency client and scope set, remembered (OIDC Core §3.1.2.4).

Asked again only for scopes not yet granted, or when the agency sends
``prompt=consent``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.clients import scopes as sc

from .models import Consent


def granted_scopes(session: Session, account_id: int, client_pk: int) -> set[str]:
    row = session.scalar(select(Consent.scopes).where(Consent.account_id == account_id, Consent.client_pk == client_pk))
    return set(sc.parse(row))


def missing_scopes(session: Session, account_id: int, client_pk: int, requested: str) -> list[str]:
    granted = granted_scopes(session, account_id, client_pk)
    # openid itself asks nothing of the citizen beyond sign-in; the rest needs consent.
    return [s for s in sc.parse(requested) if s != sc.OPENID and s not in granted]


def record(session: Session, account_id: int, client_pk: int, scopes: str, now: datetime) -> Consent:
    consent = session.scalar(select(Consent).where(Consent.account_id == account_id, Consent.client_pk == client_pk))
    if consent is None:
        consent = Consent(account_id=account_id, client_pk=client_pk, scopes="", granted_at=now, updated_at=now)
        session.add(consent)
    consent.scopes = sc.join(set(sc.parse(consent.scopes)) | set(sc.parse(scopes)))
    consent.updated_at = now
    session.flush()
    return consent


def withdraw(session: Session, account_id: int, client_pk: int) -> bool:
    """The citizen takes consent back: the next sign-in at that agency asks again. Returns whether
    there was a consent to withdraw."""
    consent = session.scalar(select(Consent).where(Consent.account_id == account_id, Consent.client_pk == client_pk))
    if consent is None:
        return False
    session.delete(consent)
    session.flush()
    return True
