"""Rules for a password a citizen chooses (NIST SP 800-63B-4 §3.1.1.2, ASVS V6.2).

Length is the rule, not composition: at least ``MIN_LENGTH`` characters
(SECURITY.md says why), at least 64 allowed (we allow ``MAX_LENGTH``), every
Unicode character accepted and NFKC-normalised, no composition rules, and a
password is refused when it is a common or breached one (the shipped list),
contains the username or the citizen's name, or is guessable from dictionary
words, names, dates, repeats, sequences or keyboard patterns: zxcvbn estimates
the guesses (NIST SP 800-63B-4 §3.1.1.2 "dictionary words", "repetitive or
sequential characters", "context-specific words").
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from importlib import resources

from zxcvbn import zxcvbn

MIN_LENGTH = 15
MAX_LENGTH = 256
#: zxcvbn's score (0–4): 3 means at least 10^8 estimated guesses.
MIN_STRENGTH = 3


def normalise(password: str) -> str:
    return unicodedata.normalize("NFKC", password)


@lru_cache(maxsize=1)
def _blocklist() -> frozenset[str]:
    text = resources.files("idp").joinpath("data/common-passwords.txt").read_text("utf-8")
    return frozenset(line.strip().casefold() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def problems(password: str, username: str | None = None, names: tuple[str | None, ...] = ()) -> list[str]:
    """Reason codes why ``password`` may not be chosen; empty when it may."""
    pw = normalise(password)
    found: list[str] = []
    length = len(pw)
    if length < MIN_LENGTH:
        found.append("password_too_short")
    if length > MAX_LENGTH:
        found.append("password_too_long")
    folded = pw.casefold()
    if folded in _blocklist() or _is_repetitive(folded):
        found.append("password_common")
    fragments = [username or ""] + [n or "" for n in names]
    bare = _without_accents(folded)
    for fragment in fragments:
        f = _without_accents(unicodedata.normalize("NFKC", fragment).casefold().strip())
        if len(f) >= 3 and f in bare:
            found.append("password_contains_personal_data")
            break
    # zxcvbn reads at most 72 characters; a longer password is only stronger.
    if not found and zxcvbn(pw[:72], user_inputs=[f for f in fragments if f])["score"] < MIN_STRENGTH:
        found.append("password_guessable")
    return found


def _without_accents(text: str) -> str:
    """``kovács`` and ``kovacs`` are the same name to someone guessing passwords."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _is_repetitive(folded: str) -> bool:
    """A password made of one short unit repeated (``aaaa…``, ``abcabc…``) is as weak as a common one."""
    for size in range(1, 5):
        unit = folded[:size]
        if unit and unit * (len(folded) // size) == folded[: size * (len(folded) // size)] and len(folded) % size == 0:
            return True
    return False
