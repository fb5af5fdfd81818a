"""Slowing down and then refusing repeated failed sign-ins (NIST SP 800-63B §3.2.2, ASVS V6.3.5).

Per username (whether or not it exists, so refusals reveal nothing) and per
address. After a few failures each next try on that username must wait a
doubling delay; after more, the username or address is refused until the
window ends. Every block ends by itself: nobody can lock a citizen out for good.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from idp.accounts.models import username_key
from idp.sharedstate import SharedState


@dataclass(frozen=True)
class ThrottlePolicy:
    account_delay_after: int = 3
    account_block_after: int = 10
    address_block_after: int = 50
    window_seconds: int = 900
    max_delay_seconds: int = 300


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int = 0


class LoginThrottle:
    def __init__(self, state: SharedState, policy: ThrottlePolicy, wallclock=time.time):
        self._state = state
        self._policy = policy
        self._wallclock = wallclock

    def _keys(self, username: str, address: str) -> tuple[str, str, str]:
        user = username_key(username)[:128]
        return f"login:fail:user:{user}", f"login:last:user:{user}", f"login:fail:addr:{address}"

    def check(self, username: str, address: str) -> Verdict:
        p = self._policy
        user_count_key, user_last_key, addr_key = self._keys(username, address)
        if self._state.count(addr_key) >= p.address_block_after:
            return Verdict(False, p.window_seconds)
        failures = self._state.count(user_count_key)
        if failures >= p.account_block_after:
            return Verdict(False, p.window_seconds)
        if failures >= p.account_delay_after:
            delay = min(2 ** (failures - p.account_delay_after + 1), p.max_delay_seconds)
            last = float(self._state.get(user_last_key) or 0)
            wait = last + delay - self._wallclock()
            if wait > 0:
                return Verdict(False, int(wait) + 1)
        return Verdict(True)

    def failed(self, username: str, address: str) -> None:
        p = self._policy
        user_count_key, user_last_key, addr_key = self._keys(username, address)
        self._state.hit(user_count_key, p.window_seconds)
        self._state.put(user_last_key, str(self._wallclock()), p.window_seconds)
        self._state.hit(addr_key, p.window_seconds)

    def succeeded(self, username: str) -> None:
        user_count_key, user_last_key, _ = self._keys(username, "")
        self._state.reset(user_count_key)
        self._state.reset(user_last_key)
