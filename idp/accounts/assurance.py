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
#: The second factors an operator may count for ``substantial``.
SECOND_FACTORS: tuple[str, ...] = (OTP, EMAIL)


@dataclass(frozen=True)
class AssurancePolicy:
    """Which second factors, with the password, reach ``substantial``."""

    substantial_methods: frozenset[str] = frozenset({OTP})

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


def level_for(amr: Iterable[str], policy: AssurancePolicy) -> str:
    """The level the methods of a sign-in reach under ``policy``."""
    methods = set(amr)
    return SUBSTANTIAL if PWD in methods and methods & policy.substantial_methods else LOW
