"""Domain errors: a stable ``reason`` code, no HTTP. Web handlers translate the reason."""

from __future__ import annotations


class AccountError(Exception):
    def __init__(self, reason: str, **details: object):
        super().__init__(reason)
        self.reason = reason
        self.details = details
