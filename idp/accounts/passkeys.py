"""Passkeys and security keys (WebAuthn Level 2, FIDO2) as an Ügyfélkapu+ method.

Every ceremony check is the ``webauthn`` library's (py_webauthn): the client data's type,
challenge and origin, the relying party ID hash, user presence and user verification, the
attestation statement and the assertion signature, the sign counter. Nothing here parses CBOR
or checks a signature by hand. What this module adds is the provider's own rule:

- the relying party ID is the issuer's host and the only origin the issuer's origin
  (``RelyingParty.of``); a response made for any other site fails the library's checks;
- user verification is required at registration and at every use (NIST SP 800-63B §5.1.9:
  the passkey is then a multi-factor cryptographic authenticator);
- a challenge is 32 random bytes made here, kept server-side by the caller and handed back once
  (the web tier's single-use stash in the shared state), so any instance can verify it;
- the sign counter must grow when the authenticator keeps one (a cloned key shows up as a counter
  that did not), and the backup-eligibility flag must stay what it was at registration
  (WebAuthn Level 3 §7.2 step 19); the stored counter moves with a conditional ``UPDATE``, so
  two concurrent uses of one assertion cannot both pass;
- a passkey belongs to one account; the user handle a discoverable credential returns must be
  that account's (compared in constant time), and only a live account signs in with it.

A passkey is added to Ügyfélkapu+, never instead of it: the account keeps its authenticator app
or emailed code and its recovery codes, the way back when the passkey's device is lost.

Reasons: ``passkey_failed`` (any response that does not verify: wrong site, wrong challenge,
no user verification, a bad signature, a counter that did not grow, an unknown or removed
credential), ``passkey_name_invalid``, ``passkey_not_found``, ``passkey_limit``,
``second_factor_not_enrolled``.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url, parse_authentication_credential_json
from webauthn.helpers import parse_registration_credential_json
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    CredentialDeviceType,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from . import assurance
from .errors import AccountError
from .models import Account
from .passkey_records import Passkey

log = logging.getLogger("idp.accounts.passkeys")

#: How long a browser has to answer a challenge (also the ceremony's timeout it is told).
CHALLENGE_SECONDS = 5 * 60
#: More than a citizen needs (a phone, a laptop, two security keys…), few enough to list on a page.
MAX_PER_ACCOUNT = 10
NAME_MAX = 64
_CHALLENGE_BYTES = 32
#: Whatever a browser may send, far above any real response (a credential ID is at most 1023 bytes).
RESPONSE_MAX = 64 * 1024
_TRANSPORTS = {t.value for t in AuthenticatorTransport}


@dataclass(frozen=True)
class RelyingParty:
    """This provider as WebAuthn sees it: its ID is the issuer's host, its one origin the issuer's."""

    id: str
    origin: str
    name: str

    @classmethod
    def of(cls, issuer: str, name: str) -> RelyingParty:
        parts = urlsplit(issuer)
        return cls(id=parts.hostname or "", origin=f"{parts.scheme}://{parts.netloc}", name=name)


@dataclass(frozen=True)
class Ceremony:
    """Options for the browser (JSON, as ``PublicKeyCredential*Options``) and what to keep
    server-side until its answer: the challenge and, for a registration, the user handle."""

    options: str
    challenge: str
    user_handle: str = ""


@dataclass(frozen=True)
class Use:
    """A passkey that just verified, and what the sign-in states in ``amr``."""

    account: Account
    passkey: Passkey

    def amr(self, *, password: bool) -> list[str]:
        return assurance.passkey_amr(self.passkey.backup_eligible, password=password)


def new_challenge() -> str:
    return bytes_to_base64url(secrets.token_bytes(_CHALLENGE_BYTES))


def of_account(session: Session, account: Account) -> list[Passkey]:
    """The account's passkeys, oldest first."""
    return list(
        session.scalars(select(Passkey).where(Passkey.account_id == account.id).order_by(Passkey.created_at, Passkey.id))
    )


def has_any(session: Session, account: Account) -> bool:
    return session.scalar(select(Passkey.id).where(Passkey.account_id == account.id).limit(1)) is not None


def can_reach(session: Session, account: Account, level: str | None, policy: assurance.AssurancePolicy) -> bool:
    """Whether one of the account's passkeys, after the password, meets ``level`` under ``policy``."""
    if not account.has_second_factor or not has_any(session, account):
        return False
    return assurance.meets(assurance.level_for(assurance.passkey_amr(False, password=True), policy), level)


def _user_handle(session: Session, account: Account) -> str | None:
    return session.scalar(select(Passkey.user_handle).where(Passkey.account_id == account.id).limit(1))


def _descriptors(passkeys: Sequence[Passkey]) -> list[PublicKeyCredentialDescriptor]:
    return [
        PublicKeyCredentialDescriptor(
            id=base64url_to_bytes(p.credential_id),
            transports=[AuthenticatorTransport(t) for t in (p.transports or []) if t in _TRANSPORTS] or None,
        )
        for p in passkeys
    ]


def check_name(name: str) -> str:
    cleaned = " ".join((name or "").split())
    if not cleaned or len(cleaned) > NAME_MAX or any(not ch.isprintable() or ch in "<>" for ch in cleaned):
        raise AccountError("passkey_name_invalid")
    return cleaned


def check_may_add(session: Session, account: Account) -> None:
    """A passkey joins an Ügyfélkapu+ already on (its code and recovery codes stay the way back)."""
    if not account.has_second_factor:
        raise AccountError("second_factor_not_enrolled")
    if len(of_account(session, account)) >= MAX_PER_ACCOUNT:
        raise AccountError("passkey_limit")


def registration(
    session: Session, rp: RelyingParty, account: Account, challenge: str, user_handle: str = ""
) -> Ceremony:
    """The options of ``navigator.credentials.create``: user verification required, a discoverable
    credential preferred (for a passwordless sign-in), no attestation asked (the provider trusts
    no particular maker; what it needs is the key and the flags), the account's keys excluded.
    The user handle is the account's (``user_handle``: the one a first key's ceremony began with)."""
    handle = _user_handle(session, account) or user_handle or bytes_to_base64url(secrets.token_bytes(32))
    options = generate_registration_options(
        rp_id=rp.id,
        rp_name=rp.name,
        user_id=base64url_to_bytes(handle),
        user_name=account.username or account.identifier,
        user_display_name=account.display_name or account.username or account.identifier,
        challenge=base64url_to_bytes(challenge),
        timeout=CHALLENGE_SECONDS * 1000,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=_descriptors(of_account(session, account)),
    )
    return Ceremony(options_to_json(options), challenge, handle)


def authentication(rp: RelyingParty, challenge: str, passkeys: Sequence[Passkey] = ()) -> Ceremony:
    """The options of ``navigator.credentials.get``: the account's keys after the password, none
    (a discoverable credential) for a passwordless sign-in; user verification required."""
    options = generate_authentication_options(
        rp_id=rp.id,
        challenge=base64url_to_bytes(challenge),
        timeout=CHALLENGE_SECONDS * 1000,
        allow_credentials=_descriptors(passkeys),
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    return Ceremony(options_to_json(options), challenge)


def _failed(stage: str, exc: Exception) -> AccountError:
    # The library's message names the check that failed (origin, RP ID hash, counter…), never a secret;
    # it may quote what the browser sent (an origin), so it is cut short.
    reason = str(exc)[:160] if isinstance(exc, WebAuthnException) else type(exc).__name__
    log.info("passkey %s refused: %r", stage, reason)
    return AccountError("passkey_failed")


def register(
    session: Session, rp: RelyingParty, account: Account, ceremony: Ceremony, response: str, name: str, now: datetime
) -> Passkey:
    """Verify the browser's answer to ``registration`` (``ceremony``: its challenge and user handle,
    as kept) and keep the new passkey."""
    challenge = ceremony.challenge
    name = check_name(name)
    check_may_add(session, account)
    if not response or len(response) > RESPONSE_MAX:
        raise AccountError("passkey_failed")
    try:
        parsed = parse_registration_credential_json(response)
        verified = verify_registration_response(
            credential=parsed,
            expected_challenge=base64url_to_bytes(challenge),
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
            require_user_verification=True,
        )
    except (WebAuthnException, ValueError, TypeError, KeyError) as exc:
        raise _failed("registration", exc) from None
    credential_id = bytes_to_base64url(verified.credential_id)
    if session.scalar(select(Passkey.id).where(Passkey.credential_id == credential_id)) is not None:
        raise AccountError("passkey_failed")  # already registered (to this or another account)
    passkey = Passkey(
        account_id=account.id,
        credential_id=credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        user_handle=_user_handle(session, account) or ceremony.user_handle,
        name=name,
        aaguid=str(verified.aaguid or ""),
        transports=[t.value for t in (parsed.response.transports or [])][:8],
        backup_eligible=verified.credential_device_type == CredentialDeviceType.MULTI_DEVICE,
        backed_up=bool(verified.credential_backed_up),
        created_at=now,
    )
    session.add(passkey)
    session.flush()
    return passkey


def credential_id_of(response: str) -> str | None:
    try:
        value = json.loads(response).get("id") if response and len(response) <= RESPONSE_MAX else None
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) and 0 < len(value) <= 1400 else None


def authenticate(
    session: Session, rp: RelyingParty, challenge: str, response: str, now: datetime, *, account: Account | None = None
) -> Use:
    """Verify the browser's answer to ``authentication``: of ``account``'s passkeys after the
    password or in a step-up, of any live account's for a passwordless sign-in."""
    credential_id = credential_id_of(response)
    passkey = None
    if credential_id is not None:
        query = select(Passkey).where(Passkey.credential_id == credential_id)
        if account is not None:
            query = query.where(Passkey.account_id == account.id)
        passkey = session.scalar(query)
    if passkey is None:
        raise AccountError("passkey_failed")
    owner = account or session.get(Account, passkey.account_id)
    if owner is None or not owner.is_live or not owner.password_hash:
        raise AccountError("passkey_failed")
    try:
        parsed = parse_authentication_credential_json(response)
        verified = verify_authentication_response(
            credential=parsed,
            expected_challenge=base64url_to_bytes(challenge),
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
            credential_public_key=passkey.public_key,
            credential_current_sign_count=passkey.sign_count,
            require_user_verification=True,
        )
    except (WebAuthnException, ValueError, TypeError, KeyError) as exc:
        raise _failed("assertion", exc) from None
    handle = parsed.response.user_handle
    if handle and not hmac.compare_digest(bytes_to_base64url(handle), passkey.user_handle):
        raise AccountError("passkey_failed")
    if (verified.credential_device_type == CredentialDeviceType.MULTI_DEVICE) != passkey.backup_eligible:
        raise AccountError("passkey_failed")
    claimed = session.execute(
        update(Passkey)
        .where(Passkey.id == passkey.id, Passkey.sign_count == passkey.sign_count)
        .values(sign_count=verified.new_sign_count, backed_up=bool(verified.credential_backed_up), last_used_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        raise AccountError("passkey_failed")  # a concurrent use of the same key came first
    session.refresh(passkey)
    return Use(owner, passkey)


def find(session: Session, account: Account, passkey_id: int) -> Passkey:
    passkey = session.get(Passkey, passkey_id)
    if passkey is None or passkey.account_id != account.id:
        raise AccountError("passkey_not_found")
    return passkey


def remove(session: Session, account: Account, passkey_id: int) -> Passkey:
    """Remove one passkey (the caller has checked the password and a current factor)."""
    passkey = find(session, account, passkey_id)
    session.delete(passkey)
    session.flush()
    return passkey


def remove_all(session: Session, account: Account) -> int:
    """Every passkey of the account (Ügyfélkapu+ turned off)."""
    return session.execute(delete(Passkey).where(Passkey.account_id == account.id)).rowcount or 0
