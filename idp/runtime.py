"""Everything a request needs besides the database, built once per process in ``create_app``.

Kept in ``app.extensions["idp"]``; nothing here is a module global.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from flask import current_app

from idp.accounts.assurance import AssurancePolicy
from idp.accounts.policy import ValidityPolicy
from idp.security.keys import KeyRing
from idp.security.passwords import Passwords
from idp.security.sealing import Sealer
from idp.security.secrets import KeyedDigest
from idp.sessions.service import Timeouts
from idp.sessions.throttle import LoginThrottle
from idp.settings import Settings, resolve_path
from idp.sharedstate import SharedState

log = logging.getLogger("idp")


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
    #: Seals officers' TOTP secrets (key derived from server.secret_key).
    sealer: Sealer | None = None
    #: Seals citizens' Ügyfélkapu+ TOTP secrets (its own derived key).
    citizen_sealer: Sealer | None = None
    #: Digests citizens' emailed Ügyfélkapu+ codes (HMAC under its own derived key).
    email_code_digest: KeyedDigest | None = None
    #: Which second factors count for ``substantial`` ([assurance]).
    assurance: AssurancePolicy = field(default_factory=AssurancePolicy)
    #: Sends the lifecycle's mail (idp.mail; any object with ``send_template`` in tests).
    mailer: Any = None
    #: Delivers back-channel logout notices (idp.oidc.backchannel.Dispatcher).
    logout: Any = None

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

    def trust_anchors(self) -> list[bytes]:
        """The CAs electronic registrations must chain to, read now so an operator's change needs no
        restart. An unreadable folder trusts nobody (and says why in the log)."""
        from idp.accounts.esign import load_trust_anchors

        folder = resolve_path(self.settings.keys.trusted_ca_dir)
        try:
            return load_trust_anchors(folder)
        except FileNotFoundError:
            return []
        except ValueError as exc:
            log.error("keys.trusted_ca_dir %s: %s; electronic registration trusts no CA", folder, exc)
            return []


def runtime() -> Runtime:
    return current_app.extensions["idp"]
