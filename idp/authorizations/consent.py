"""The citizen's consent per agency client and scope set, remembered (OIDC Core §3.1.2.4).

Asked again only for scopes not yet granted, or when the agency sends
``prompt=consent``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from idp.clients import scopes as sc

from . import tokens
from .models import Consent


#: Built once with bind parameters: every authorize with a session asks it (bench/README.md, "Race").
_GRANTED = select(Consent.scopes).where(
    Consent.account_id == bindparam("account_id"), Consent.client_pk == bindparam("client_pk")
)


def granted_scopes(session: Session, account_id: int, client_pk: int) -> set[str]:
    row = session.scalar(_GRANTED, {"account_id": account_id, "client_pk": client_pk})
    return set(sc.parse(row))


def missing_scopes(session: Session, account_id: int, client_pk: int, requested: str) -> list[str]:
    granted = granted_scopes(session, account_id, client_pk)
    # openid itself asks nothing of the citizen beyond sign-in; the rest needs consent.
    return [s for s in sc.parse(requested) if s != sc.OPENID and s not in granted]


def record(
    session: Session, account_id: int, client_pk: int, scopes: str, now: datetime, *, offline: bool = False
) -> Consent:
    """Remember what the citizen allowed. ``offline_access`` is never taken from ``scopes``: it is the
    citizen's own tick on the consent page (``offline``), asked every time (OIDC Core §11); a consent
    given without it ends offline access the agency held before (``withdraw_offline``)."""
    consent = session.scalar(select(Consent).where(Consent.account_id == account_id, Consent.client_pk == client_pk))
    if consent is None:
        consent = Consent(account_id=account_id, client_pk=client_pk, scopes="", granted_at=now, updated_at=now)
        session.add(consent)
    granted = (set(sc.parse(consent.scopes)) | set(sc.parse(scopes))) - {sc.OFFLINE_ACCESS}
    if offline:
        granted.add(sc.OFFLINE_ACCESS)
    elif sc.OFFLINE_ACCESS in sc.parse(consent.scopes):
        tokens.revoke_refresh_families(session, account_id, client_pk, now)
    consent.scopes = sc.join(granted)
    consent.updated_at = now
    session.flush()
    return consent


def withdraw_offline(session: Session, account_id: int, client_pk: int, now: datetime) -> bool:
    """The citizen ends one agency's offline access and keeps the rest of the consent: every token
    family holding a refresh token dies at once (its access tokens with it). Returns whether the
    agency held offline access."""
    consent = session.scalar(select(Consent).where(Consent.account_id == account_id, Consent.client_pk == client_pk))
    if consent is None or sc.OFFLINE_ACCESS not in sc.parse(consent.scopes):
        return False
    consent.scopes = sc.join(s for s in sc.parse(consent.scopes) if s != sc.OFFLINE_ACCESS)
    consent.updated_at = now
    tokens.revoke_refresh_families(session, account_id, client_pk, now)
    session.flush()
    return True


def withdraw(session: Session, account_id: int, client_pk: int) -> bool:
    """The citizen takes consent back: the next sign-in at that agency asks again. Returns whether
    there was a consent to withdraw."""
    consent = session.scalar(select(Consent).where(Consent.account_id == account_id, Consent.client_pk == client_pk))
    if consent is None:
        return False
    session.delete(consent)
    session.flush()
    return True
