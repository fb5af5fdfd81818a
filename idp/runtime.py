"""Everything a request needs besides the database, built once per process in ``create_app``.

Kept in ``app.extensions["idp"]``; nothing here is a module global.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import current_app

from idp.accounts.policy import ValidityPolicy
from idp.security.keys import KeyRing
from idp.security.passwords import Passwords
from idp.sessions.service import Timeouts
from idp.sessions.throttle import LoginThrottle
from idp.settings import Settings
from idp.sharedstate import SharedState


@dataclass
class Runtime:
    settings: Settings
    clock: Any
    keyring: KeyRing
    passwords: Passwords
    shared: SharedState
    policy: ValidityPolicy
    throttle: LoginThrottle
    timeouts: Timeouts
    server: Any = None  # the Authlib authorization server (idp.oidc.server)

    @property
    def issuer(self) -> str:
        return self.settings.server.issuer

    @property
    def pairwise_secret(self) -> bytes:
        return self.settings.security.pairwise_secret.encode("utf-8")

    def now(self):
        return self.clock.now()

    @property
    def access_lifetime(self) -> timedelta:
        return timedelta(seconds=self.settings.tokens.access_token_seconds)


def runtime() -> Runtime:
    return current_app.extensions["idp"]
