"""Password hashing with argon2id (OWASP ASVS 5.0 V11.4.2, NIST SP 800-63B §3.1.1.2).

Parameters follow RFC 9106 §4's second recommendation scaled to the machine
(settings ``security.argon2_*``). A hash made with weaker parameters is
upgraded at the next successful sign-in. For an unknown username the same
work is done against a dummy hash, so timing does not tell whether an account
exists (ASVS V6.3.8).
"""

from __future__ import annotations

from dataclasses import dataclass

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError


@dataclass(frozen=True)
class Verification:
    ok: bool
    new_hash: str | None = None  # set when the stored hash should be upgraded


class Passwords:
    def __init__(self, time_cost: int = 3, memory_kib: int = 65536, parallelism: int = 2):
        self._hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism, type=Type.ID
        )
        self._dummy = self._hasher.hash("dummy password for unknown accounts")

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored_hash: str | None, password: str) -> Verification:
        if not stored_hash:
            self._burn(password)
            return Verification(False)
        try:
            self._hasher.verify(stored_hash, password)
        except (VerificationError, InvalidHashError):
            return Verification(False)
        if self._hasher.check_needs_rehash(stored_hash):
            return Verification(True, self._hasher.hash(password))
        return Verification(True)

    def _burn(self, password: str) -> None:
        try:
            self._hasher.verify(self._dummy, password + "\x00")
        except VerificationError:
            pass
