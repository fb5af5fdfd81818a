"""Slowing down and then refusing repeated failed sign-ins (NIST SP 800-63B §3.2.2, ASVS V6.3.5).

Per username (whether or not it exists, so refusals reveal nothing) and per
address. After a few failures each next try on that username must wait a
doubling delay; after more, the username or address is refused for a whole
window from the failure that crossed the line. At most ``account_daily_cap``
failures per username in a day (NIST's limit of 100 consecutive failures, made
a daily cap so that no block lasts more than a day). Every block ends by itself:
nobody can lock a citizen out for good.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from idp.accounts.models import username_key
from idp.sharedstate import SharedState, SharedStateUnavailable

log = logging.getLogger("idp.throttle")


@dataclass(frozen=True)
class ThrottlePolicy:
    account_delay_after: int = 3
    account_block_after: int = 10
    address_block_after: int = 50
    window_seconds: int = 900
    max_delay_seconds: int = 300
    account_daily_cap: int = 100

DAY = 86400


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int = 0


class LoginThrottle:
    def __init__(self, state: SharedState, policy: ThrottlePolicy, wallclock=time.time):
        self._state = state
        self._policy = policy
        self._wallclock = wallclock

    def _keys(self, username: str, address: str) -> dict[str, str]:
        user = username_key(username)[:128]
        return {
            "user": f"login:fail:user:{user}",
            "user_day": f"login:day:user:{user}",
            "user_last": f"login:last:user:{user}",
            "user_block": f"login:block:user:{user}",
            "addr": f"login:fail:addr:{address}",
            "addr_block": f"login:block:addr:{address}",
        }

    def _blocked_for(self, key: str) -> int:
        until = self._state.get(key)
        if until is None:
            return 0
        return max(math.ceil(float(until) - self._wallclock()), 0)

    def _block(self, key: str, seconds: int) -> None:
        self._state.put(key, str(self._wallclock() + seconds), seconds)

    def check(self, username: str, address: str) -> Verdict:
        p = self._policy
        k = self._keys(username, address)
        for block in (k["addr_block"], k["user_block"]):
            wait = self._blocked_for(block)
            if wait > 0:
                return Verdict(False, wait)
        failures = self._state.count(k["user"])
        if failures >= p.account_delay_after:
            delay = min(2 ** (failures - p.account_delay_after + 1), p.max_delay_seconds)
            last = float(self._state.get(k["user_last"]) or 0)
            wait = last + delay - self._wallclock()
            if wait > 0:
                return Verdict(False, math.ceil(wait))
        return Verdict(True)

    def failed(self, username: str, address: str) -> None:
        p = self._policy
        k = self._keys(username, address)
        failures = self._state.hit(k["user"], p.window_seconds)
        self._state.put(k["user_last"], str(self._wallclock()), p.window_seconds)
        if failures >= p.account_block_after:
            self._block(k["user_block"], p.window_seconds)
        if self._state.hit(k["user_day"], DAY) >= p.account_daily_cap:
            self._block(k["user_block"], DAY)
        if self._state.hit(k["addr"], p.window_seconds) >= p.address_block_after:
            self._block(k["addr_block"], p.window_seconds)

    def succeeded(self, username: str) -> None:
        k = self._keys(username, "")
        for name in ("user", "user_last", "user_day"):
            self._state.reset(k[name])


@dataclass(frozen=True)
class ClientThrottlePolicy:
    client_block_after: int = 20
    address_block_after: int = 50
    window_seconds: int = 900
    #: How long an address the client authenticated from stays exempt from a block of its client_id.
    known_address_seconds: int = 30 * DAY


class ClientAuthThrottle:
    """Failed client authentications at the token, introspection, revocation and PAR endpoints,
    counted per ``client_id`` (whether or not such a client exists, so a refusal reveals nothing)
    and per address; past a limit within the window, further attempts are refused until the
    window from the failure that crossed it ends (ASVS 5.0 V6.3.5 as for citizens).

    An address refused is refused before any credential is looked at. A ``client_id`` refused is
    refused everywhere except at the addresses that client authenticated from in the last
    ``known_address_seconds``: anyone can name a client_id, and a block that stopped the agency's
    own servers would let a stranger cut the agency off (OWASP's lock-out advice: keep the known
    device working). Client secrets carry 256 bits, so the block is about refusing automation, not
    about a guess ever succeeding. For the same reason it fails open: while the shared state (Redis)
    does not answer, nothing is counted or refused (one warning per failure), so the token endpoint
    keeps serving agencies through a Redis outage (SECURITY.md, "Faults").
    """

    def __init__(self, state: SharedState, policy: ClientThrottlePolicy, wallclock=time.time):
        self._state = state
        self._policy = policy
        self._wallclock = wallclock

    @staticmethod
    def _client(client_id: str | None) -> str:
        return (client_id or "")[:64]

    def _blocked_for(self, key: str) -> int:
        until = self._state.get(key)
        if until is None:
            return 0
        return max(math.ceil(float(until) - self._wallclock()), 0)

    def _block(self, key: str, seconds: int) -> None:
        self._state.put(key, str(self._wallclock() + seconds), seconds)

    def check(self, client_id: str | None, address: str) -> Verdict:
        try:
            return self._check(client_id, address)
        except SharedStateUnavailable:
            log.warning("client authentication throttle skipped: the shared state does not answer")
            return Verdict(True)

    def failed(self, client_id: str | None, address: str) -> None:
        try:
            self._failed(client_id, address)
        except SharedStateUnavailable:
            log.warning("client authentication failure not counted: the shared state does not answer")

    def succeeded(self, client_id: str, address: str) -> None:
        try:
            self._succeeded(client_id, address)
        except SharedStateUnavailable:
            pass

    def _check(self, client_id: str | None, address: str) -> Verdict:
        wait = self._blocked_for(f"client:block:addr:{address}")
        if wait > 0:
            return Verdict(False, wait)
        client = self._client(client_id)
        if client:
            wait = self._blocked_for(f"client:block:id:{client}")
            if wait > 0 and self._state.get(f"client:known:{client}:{address}") is None:
                return Verdict(False, wait)
        return Verdict(True)

    def _failed(self, client_id: str | None, address: str) -> None:
        p = self._policy
        client = self._client(client_id)
        if client and self._state.hit(f"client:fail:id:{client}", p.window_seconds) >= p.client_block_after:
            self._block(f"client:block:id:{client}", p.window_seconds)
        if self._state.hit(f"client:fail:addr:{address}", p.window_seconds) >= p.address_block_after:
            self._block(f"client:block:addr:{address}", p.window_seconds)

    def _succeeded(self, client_id: str, address: str) -> None:
        self._state.put(f"client:known:{self._client(client_id)}:{address}", "1", self._policy.known_address_seconds)
