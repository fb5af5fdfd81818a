"""Refusals in the clients domain: each carries a stable ``reason`` (no HTTP here)."""

from __future__ import annotations


class ClientError(ValueError):
    """A refused action on a client; ``reason`` is a stable code (or, for a fetch, short ASCII English)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason
