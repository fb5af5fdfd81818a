"""Offices: every account remembers the office that registered it (PRODUCT.md rule 9)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from idp.storage import Base


class Office(Base):
    __tablename__ = "office"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime]


class Officer(Base):
    """A registration officer of one office. Officers always sign in with a second factor (TOTP)."""

    __tablename__ = "officer"

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"))
    username: Mapped[str] = mapped_column(String(64))
    username_key: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(256))
    #: The TOTP secret, sealed (encrypted) with the server's data key: it must be readable to check codes.
    totp_secret_sealed: Mapped[str] = mapped_column(String(512))
    #: The last accepted TOTP time step: a code is accepted once (RFC 6238 §5.2).
    totp_last_step: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
