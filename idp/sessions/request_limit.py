"""Counting requests that send something (a recovery mail) per key, in the shared state, so a
flood reaches neither a citizen's mailbox nor the mail server (ASVS 5.0 V2.4.1; NIST SP 800-63B
§6.1.2.3 asks the same of recovery as of sign-in).

Unlike the sign-in throttle (``throttle``), every request counts, right or wrong: the caller
never learns from the limit whether an account exists, and answers a refused request exactly as
any other. Keys are digested, so no username or address sits in the shared state.
"""

from __future__ import annotations

from idp.security.secrets import digest
from idp.sharedstate import SharedState


class RequestLimit:
    def __init__(self, state: SharedState, prefix: str = "limit"):
        self._state = state
        self._prefix = prefix

    def allow(self, limits: dict[str, int], window_seconds: int) -> bool:
        """Count one request under each key of ``limits`` (key: the most allowed in the window);
        False when any key is over its limit. Every key counts, also when an earlier one refused."""
        allowed = True
        for key, most in limits.items():
            count = self._state.hit(f"{self._prefix}:{digest(key)}", window_seconds)
            allowed = allowed and count <= most
        return allowed
