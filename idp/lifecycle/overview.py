"""What the citizen's account page shows: their sessions, the agencies they allowed, and the
access history (issue 4, "the account page"). Reads only; the page's actions are
``idp.lifecycle.access.end_sessions`` and ``idp.lifecycle.citizen.withdraw_consent``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from ua_parser import parse as parse_user_agent

from idp.accounts.models import Account
from idp.clients import scopes as sc
from idp.clients.models import Client
from idp.offices.models import Office
from idp.authorizations import releases
from idp.authorizations.models import Consent
from idp.sessions import service as sessions
from idp.sessions.service import Timeouts


@dataclass(frozen=True)
class SessionView:
    sid: str
    signed_in_at: datetime
    last_seen_at: datetime
    ip_address: str
    browser: str
    system: str
    second_factor: bool
    is_current: bool


@dataclass(frozen=True)
class AgencyView:
    client_id: str
    agency: str
    client_name: str
    scopes: tuple[str, ...]
    granted_at: datetime
    updated_at: datetime
    #: The citizen let this agency read their data while they are not signed in (OIDC Core §11).
    offline: bool = False


@dataclass(frozen=True)
class Overview:
    office: Office | None
    sessions: list[SessionView]
    agencies: list[AgencyView]
    history: list[releases.Release]


def _device(user_agent: str) -> tuple[str, str]:
    """Browser and operating system as people name them ("Firefox 128", "Windows"); empty when unknown."""
    if not user_agent:
        return "", ""
    parsed = parse_user_agent(user_agent)
    browser = " ".join(p for p in (parsed.user_agent.family, parsed.user_agent.major) if p) if parsed.user_agent else ""
    system = parsed.os.family if parsed.os and parsed.os.family != "Other" else ""
    return ("" if browser.startswith("Other") else browser), system


def overview(session: Session, account: Account, current_sid: str | None, now: datetime, timeouts: Timeouts) -> Overview:
    live = []
    for s in sessions.live_for_account(session, account.id, now, timeouts):
        browser, system = _device(s.user_agent)
        live.append(
            SessionView(
                s.sid, s.auth_time, s.last_seen_at, s.ip_address, browser, system,
                second_factor=len(s.amr or ()) > 1, is_current=s.sid == current_sid,
            )
        )
    agencies = [
        AgencyView(client.client_id, client.agency or client.name, client.name,
                   tuple(x for x in sc.parse(c.scopes) if x not in (sc.OPENID, sc.OFFLINE_ACCESS)), c.granted_at,
                   c.updated_at, offline=sc.OFFLINE_ACCESS in sc.parse(c.scopes))
        for c, client in session.execute(
            select(Consent, Client).join(Client, Client.id == Consent.client_pk)
            .where(Consent.account_id == account.id).order_by(Consent.updated_at.desc())
        )
    ]
    office = session.get(Office, account.registering_office_id) if account.registering_office_id else None
    return Overview(office, live, agencies, releases.history(session, account.id))
