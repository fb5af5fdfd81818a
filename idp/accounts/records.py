"""Records that belong to an account's lifecycle besides the account itself."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from idp.storage import Base


class MailedCode:
    """The columns of a code mailed to the citizen (``idp.accounts.codes``): its digest, how many
    tries it had, until when it is good, and when it was used or revoked."""

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    code_digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class ActivationCode(MailedCode, Base):
    """The emailed one-time activation code (rule 6): stored as a digest, single-use,
    a few attempts, valid for the activation window."""

    __tablename__ = "activation_code"


class Reminder(Base):
    """A reminder email sent before the validity (or, under the 2009 rule, the password) runs out.

    Unique per account, kind, the end it reminds of and how many days before: each is sent once,
    even when several instances run the jobs at the same time.
    """

    __tablename__ = "reminder"
    __table_args__ = (UniqueConstraint("account_id", "kind", "ends_at", "days_before", name="uq_reminder_once"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    ends_at: Mapped[datetime]
    days_before: Mapped[int] = mapped_column(Integer)
    sent_at: Mapped[datetime]


class RecoveryCode(Base):
    """A one-time recovery code (törlőkód) of Ügyfélkapu+: shown once at enrolment, stored as a
    digest, used once in place of an authenticator code."""

    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    code_digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class EmailCode(MailedCode, Base):
    """A six-digit Ügyfélkapu+ code sent by email (idp.accounts.email_code): stored as a keyed digest,
    valid ten minutes, used once, revoked after five wrong tries or when a newer code is sent."""

    __tablename__ = "email_code"
