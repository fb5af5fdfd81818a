"""Levels of assurance stated in ``acr`` (eIDAS-style) and the methods in ``amr`` (RFC 8176).

A password alone is ``low``; a password and a second factor is ``substantial``.
Levels are ordered, so a request for ``low`` is met by ``substantial``.
"""

from __future__ import annotations

LOW = "http://eidas.europa.eu/LoA/low"
SUBSTANTIAL = "http://eidas.europa.eu/LoA/substantial"

#: Ordered from weakest to strongest.
LEVELS: tuple[str, ...] = (LOW, SUBSTANTIAL)


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


def level_for(amr: list[str]) -> str:
    return SUBSTANTIAL if "otp" in amr and "pwd" in amr else LOW
