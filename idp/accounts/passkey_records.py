"""A passkey or security key (WebAuthn credential) of a citizen's Ügyfélkapu+ (``idp.accounts.passkeys``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from idp.storage import Base


class Passkey(Base):
    """One registered authenticator: its credential ID and public key (COSE), never a secret.

    ``user_handle`` is the WebAuthn user ID the account's authenticators hold: random, the same for
    every passkey of the account, never personal data (WebAuthn §14.6.1). ``backup_eligible`` is the
    BE flag fixed at registration (a synced passkey), ``backed_up`` the BS flag of the last use.
    """

    __tablename__ = "passkey"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    #: base64url of the credential ID (at most 1023 bytes, WebAuthn §5.1)
    credential_id: Mapped[str] = mapped_column(String(1400), unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    sign_count: Mapped[int] = mapped_column(Integer, default=0)
    user_handle: Mapped[str] = mapped_column(String(128), index=True)
    name: Mapped[str] = mapped_column(String(64))
    aaguid: Mapped[str] = mapped_column(String(36), default="")
    transports: Mapped[list] = mapped_column(JSON, default=list)
    backup_eligible: Mapped[bool] = mapped_column(Boolean, default=False)
    backed_up: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"<Passkey {self.id} account={self.account_id}>"
