"""The browsers an account has signed in from, to tell the citizen of a new one (issue 12, "Know
when the account is used"; ASVS 5.0 V6.3.7 and V6.3.5's notice of suspicious sign-ins).

A browser is known by a long-lived random cookie of its own (``idp.web.session.device_cookie``),
never by fingerprinting: only the cookie value's SHA-256 digest is stored, per account. A browser
without the cookie, or with one this account has not signed in with, is new. The browser and
system named in the notice come from the User-Agent header, as people name them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column
from ua_parser import parse as parse_user_agent

from idp.security.secrets import digest
from idp.storage import Base

from .models import Account

#: How many browsers an account remembers; the least recently used are forgotten first.
KEEP = 20


class KnownDevice(Base):
    __tablename__ = "known_device"
    __table_args__ = (UniqueConstraint("account_id", "device_digest", name="uq_known_device"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    device_digest: Mapped[str] = mapped_column(String(64))
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]

    def __repr__(self) -> str:
        return f"<KnownDevice {self.id} account={self.account_id}>"


@dataclass(frozen=True)
class Described:
    """A browser as the notice names it ("Firefox 128", "Windows"); empty parts when unknown."""

    browser: str
    system: str


def describe(user_agent: str) -> Described:
    if not user_agent:
        return Described("", "")
    parsed = parse_user_agent(user_agent[:512])
    browser = " ".join(p for p in (parsed.user_agent.family, parsed.user_agent.major) if p) if parsed.user_agent else ""
    system = parsed.os.family if parsed.os and parsed.os.family != "Other" else ""
    return Described("" if browser.startswith("Other") else browser, system)


def count(session: Session, account: Account) -> int:
    return session.scalar(select(func.count(KnownDevice.id)).where(KnownDevice.account_id == account.id)) or 0


def remember(session: Session, account: Account, device_secret: str, now: datetime) -> bool:
    """Record that ``account`` signed in from this browser; returns whether it was known before.
    A browser without its cookie (``device_secret`` empty) is never known."""
    if not device_secret or len(device_secret) > 128:
        return False
    wanted = digest(device_secret)
    row = session.scalar(
        select(KnownDevice).where(KnownDevice.account_id == account.id, KnownDevice.device_digest == wanted)
    )
    if row is not None:
        row.last_seen_at = now
        return True
    stale = session.scalars(
        select(KnownDevice).where(KnownDevice.account_id == account.id)
        .order_by(KnownDevice.last_seen_at.desc()).offset(KEEP - 1)
    ).all()
    for old in stale:
        session.delete(old)
    session.add(KnownDevice(account_id=account.id, device_digest=wanted, first_seen_at=now, last_seen_at=now))
    session.flush()
    return False
