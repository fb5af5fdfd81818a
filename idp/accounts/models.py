"""The citizen account: every datum of PRODUCT.md rule 3 and the lifecycle facts.

Personal columns are nullable because erasure (lapse, expiry, deletion: rules
6, 8, 10) empties them and keeps only an anonymous record that an account
existed and when it ended.
"""

from __future__ import annotations

import unicodedata
from datetime import date, datetime

from sqlalchemy import Boolean, Date, Enum, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from idp.storage import Base

from .assurance import EMAIL, OTP
from .states import LIVE_STATES, AccountState


def username_key(username: str) -> str:
    """Uniqueness key of a username: Unicode NFKC, then case-folded (rule 3)."""
    return unicodedata.normalize("NFKC", username).casefold().strip()


def _person_part(value: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", value).casefold().split())


def person_key(
    birth_family_name: str,
    birth_given_name: str,
    mother_birth_family_name: str,
    mother_birth_given_name: str,
    birth_place: str,
    birth_date: date,
) -> str:
    """One live account per natural person (rule 3): the identity that must be unique."""
    parts = [
        birth_family_name,
        birth_given_name,
        mother_birth_family_name,
        mother_birth_given_name,
        birth_place,
    ]
    return "|".join(_person_part(p) for p in parts) + "|" + birth_date.isoformat()


class Account(Base):
    __tablename__ = "account"
    __table_args__ = (
        # The scheduled jobs select by state and an end (idp.lifecycle.jobs).
        Index("ix_account_state_valid_until", "state", "valid_until"),
        Index("ix_account_state_password_changed_at", "state", "password_changed_at"),
        Index("ix_account_state_state_changed_at", "state", "state_changed_at"),
        Index("ix_account_state_registered_at", "state", "registered_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The system-generated unique identifier (rule 5); never reused, never changes.
    identifier: Mapped[str] = mapped_column(String(32), unique=True)
    state: Mapped[AccountState] = mapped_column(
        Enum(AccountState, native_enum=False, length=32, values_callable=lambda e: [m.value for m in e])
    )
    state_changed_at: Mapped[datetime]

    username: Mapped[str | None] = mapped_column(String(64))
    username_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(256))
    #: Rule 7: the initial password must be changed before any agency gets a token.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=True)
    password_changed_at: Mapped[datetime | None]

    family_name: Mapped[str | None] = mapped_column(String(100))
    given_name: Mapped[str | None] = mapped_column(String(100))
    birth_family_name: Mapped[str | None] = mapped_column(String(100))
    birth_given_name: Mapped[str | None] = mapped_column(String(100))
    mother_birth_family_name: Mapped[str | None] = mapped_column(String(100))
    mother_birth_given_name: Mapped[str | None] = mapped_column(String(100))
    birth_place: Mapped[str | None] = mapped_column(String(100))
    birth_country: Mapped[str | None] = mapped_column(String(2))
    birth_date: Mapped[date | None] = mapped_column(Date)
    #: Uniqueness key of the natural identity (rule 3); emptied when the account ends.
    person_key: Mapped[str | None] = mapped_column(String(600), unique=True)

    document_type: Mapped[str | None] = mapped_column(String(32))
    document_number: Mapped[str | None] = mapped_column(String(32))
    document_issued_on: Mapped[date | None] = mapped_column(Date)
    document_expires_on: Mapped[date | None] = mapped_column(Date)

    email: Mapped[str | None] = mapped_column(String(254))
    email_verified: Mapped[bool] = mapped_column(Boolean, default=False)

    address_postal_code: Mapped[str | None] = mapped_column(String(16))
    address_locality: Mapped[str | None] = mapped_column(String(100))
    address_street: Mapped[str | None] = mapped_column(String(200))
    address_country: Mapped[str | None] = mapped_column(String(2))

    locale: Mapped[str] = mapped_column(String(8), default="hu")

    #: Ügyfélkapu+ (the second factor) by authenticator app: the TOTP secret in use, sealed
    #: (idp.security.sealing), since ``totp_enrolled_at``.
    totp_secret_sealed: Mapped[str | None] = mapped_column(String(256))
    #: The last time step accepted (RFC 6238 §5.2: a code is accepted once).
    totp_last_step: Mapped[int] = mapped_column(Integer, default=0)
    totp_enrolled_at: Mapped[datetime | None]
    #: A new TOTP secret set aside (first enrolment, or replacing the one in use), sealed: it counts
    #: only once a first correct code from it confirms it; until then the factor in use keeps working.
    totp_pending_sealed: Mapped[str | None] = mapped_column(String(256))
    #: Ügyfélkapu+ by a six-digit code sent by email (idp.accounts.email_code): chosen at.
    email_code_enrolled_at: Mapped[datetime | None]

    #: The number an online pre-registration is found by at the office (rule 1, second channel).
    registration_number: Mapped[str | None] = mapped_column(String(16), unique=True)
    #: Identity verification (hitelesítés, rule 2): when, by which officer, how (in_person, e_signature).
    verified_at: Mapped[datetime | None]
    verified_by_officer_id: Mapped[int | None] = mapped_column(ForeignKey("officer.id"))
    verification_method: Mapped[str | None] = mapped_column(String(16))
    #: An electronic registration's signing certificate: its issuing CA (RFC 4514) and serial number
    #: (hexadecimal), the evidence ``verified_claims`` states (OpenID Identity Assurance, §5.1.1.4).
    signature_certificate_issuer: Mapped[str | None] = mapped_column(String(500))
    signature_certificate_serial: Mapped[str | None] = mapped_column(String(64))
    #: The data-provision statement (Adatszolgáltatási nyilatkozat, rule 4): which version, when, how.
    statement_version: Mapped[str | None] = mapped_column(String(32))
    statement_signed_at: Mapped[datetime | None]
    statement_method: Mapped[str | None] = mapped_column(String(16))

    registering_office_id: Mapped[int | None] = mapped_column(ForeignKey("office.id"))
    #: in_person, online, e_signature, or test (an agency's integration account)
    registration_channel: Mapped[str] = mapped_column(String(16))
    registered_at: Mapped[datetime]
    activated_at: Mapped[datetime | None]
    #: Rule 8: the account's validity end; None when the policy gives accounts no end date.
    valid_until: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    is_test: Mapped[bool] = mapped_column(Boolean, default=False)

    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    @property
    def is_live(self) -> bool:
        return self.state in LIVE_STATES

    @property
    def has_second_factor(self) -> bool:
        return self.second_factor_method is not None

    @property
    def second_factor_method(self) -> str | None:
        """``otp`` (authenticator app), ``email`` (emailed code) or None (no Ügyfélkapu+)."""
        if self.totp_enrolled_at is not None and self.totp_secret_sealed is not None:
            return OTP
        if self.email_code_enrolled_at is not None:
            return EMAIL
        return None

    @property
    def display_name(self) -> str:
        """Hungarian order: family name first."""
        return " ".join(p for p in (self.family_name, self.given_name) if p)

    def __repr__(self) -> str:  # never the personal data
        return f"<Account {self.id} {self.state}>"
