"""Levels of assurance stated in ``acr`` (eIDAS-style) and the methods in ``amr`` (RFC 8176).

A password alone is ``low``. A password and a second factor is ``substantial``
when the operator's policy counts that second factor for it (``[assurance]
substantial_methods``): by default only the authenticator app (``otp``); the
emailed code (``email``) yields ``low`` unless the operator adds it, as the real
service does (NIST SP 800-63B §5.1.3.1 does not accept email as an out-of-band
authenticator). Levels are ordered, so a request for ``low`` is met by
``substantial``.

``amr`` values: ``pwd`` and ``otp`` from RFC 8176 §2; ``email`` is this
provider's extension value for a code sent by email (RFC 8176 has none for it).

A passkey or security key (WebAuthn, ``idp.accounts.passkeys``) is always used with user
verification, so it is a multi-factor cryptographic authenticator by itself (NIST SP 800-63B
§5.1.9): the operator's policy names it ``passkey`` and, when listed, it reaches ``substantial``
alone (a passwordless sign-in) as well as after the password. Its ``amr`` (RFC 8176 §2) says
what happened: ``hwk`` for a device-bound key (the authenticator reported it not backup
eligible: its private key cannot leave it), ``swk`` for a synced passkey (backup eligible:
the key is copied between devices by a provider's cloud), ``user`` for the user presence and
verification the authenticator reported (browsers do not say whether by PIN or fingerprint,
so neither ``pin`` nor ``fpt`` is claimed), and ``mfa`` because two factors were proven (the
key, and what unlocked it); ``pwd`` stands before them when the password came first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

LOW = "http://eidas.europa.eu/LoA/low"
SUBSTANTIAL = "http://eidas.europa.eu/LoA/substantial"

#: Ordered from weakest to strongest.
LEVELS: tuple[str, ...] = (LOW, SUBSTANTIAL)

#: Authentication methods (``amr``).
PWD = "pwd"
OTP = "otp"
EMAIL = "email"
HWK = "hwk"
SWK = "swk"
USER = "user"
MFA = "mfa"
#: The policy's name of a WebAuthn credential used with user verification (its ``amr`` is ``hwk``
#: or ``swk`` with ``user`` and ``mfa``).
PASSKEY = "passkey"
#: The second factors an operator may count for ``substantial``.
SECOND_FACTORS: tuple[str, ...] = (OTP, EMAIL, PASSKEY)


@dataclass(frozen=True)
class AssurancePolicy:
    """Which second factors, with the password, reach ``substantial``."""

    substantial_methods: frozenset[str] = frozenset({OTP, PASSKEY})

    @classmethod
    def of(cls, methods: Iterable[str]) -> AssurancePolicy:
        return cls(frozenset(methods))


def rank(acr: str | None) -> int:
    return LEVELS.index(acr) if acr in LEVELS else -1


def meets(achieved: str | None, required: str | None) -> bool:
    if required is None:
        return True
    return rank(achieved) >= rank(required)


def required_level(acr_values: list[str]) -> str | None:
    """The level an agency asks for: the weakest known level it lists (it accepts any of them)."""
    known = [v for v in acr_values if v in LEVELS]
    if not known:
        return None
    return min(known, key=rank)


def passkey_amr(backup_eligible: bool, *, password: bool = False) -> list[str]:
    """What a passkey used with user verification states in ``amr``, after the password or alone."""
    return [*([PWD] if password else []), SWK if backup_eligible else HWK, USER, MFA]


def used_passkey(methods: Iterable[str]) -> bool:
    """Whether ``amr`` records a WebAuthn credential used with user verification."""
    found = set(methods)
    return bool(found & {HWK, SWK}) and MFA in found


def level_for(amr: Iterable[str], policy: AssurancePolicy) -> str:
    """The level the methods of a sign-in reach under ``policy``."""
    methods = set(amr)
    if PASSKEY in policy.substantial_methods and used_passkey(methods):
        return SUBSTANTIAL
    return SUBSTANTIAL if PWD in methods and methods & policy.substantial_methods else LOW
