"""Everything a request needs besides the database, built once per process in ``create_app``.

Kept in ``app.extensions["idp"]``; nothing here is a module global.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import current_app

from idp.accounts.assurance import AssurancePolicy
from idp.accounts.policy import ValidityPolicy
from idp.security.keys import KeyRing
from idp.security.passwords import Passwords
from idp.security.sealing import Sealer
from idp.security.secrets import KeyedDigest
from idp.sessions.service import Timeouts
from idp.sessions.throttle import ClientAuthThrottle, LoginThrottle
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
    #: Failed client authentications at the token, introspection, revocation and PAR endpoints.
    client_throttle: ClientAuthThrottle | None = None
    server: Any = None  # the Authlib authorization server (idp.oidc.server)
    #: Seals officers' TOTP secrets (key derived from server.secret_key).
    sealer: Sealer | None = None
    #: Seals citizens' Ügyfélkapu+ TOTP secrets (its own derived key).
    citizen_sealer: Sealer | None = None
    #: Digests citizens' emailed Ügyfélkapu+ codes (HMAC under its own derived key).
    email_code_digest: KeyedDigest | None = None
    #: Seals electronic registration documents (HMAC under its own derived key).
    registration_seal: KeyedDigest | None = None
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

    # What electronic registration trusts, read at each registration so an operator's change needs
    # no restart. A folder with a file that does not belong there counts as empty and says why in
    # the log: no CA trusted, no timestamp trusted, no CRL (so a certificate naming one is refused).

    def trust_anchors(self) -> list[bytes]:
        """The CAs electronic registrations must chain to."""
        from idp.accounts.esign_trust import load_trust_anchors

        return _read("keys.trusted_ca_dir", self.settings.keys.trusted_ca_dir, load_trust_anchors)

    def timestamp_authorities(self) -> list[bytes]:
        """The TSAs whose signature timestamps may date a signature before its upload."""
        from idp.accounts.esign_trust import load_timestamp_authorities

        return _read("keys.trusted_tsa_dir", self.settings.keys.trusted_tsa_dir, load_timestamp_authorities)

    def crls(self) -> list[bytes]:
        """The CRLs signing certificates are checked against."""
        from idp.accounts.esign_trust import load_crls

        return _read("keys.crl_dir", self.settings.keys.crl_dir, load_crls)


def _read(key: str, setting: str, load: Callable[[Path], list[bytes]]) -> list[bytes]:
    folder = resolve_path(setting)
    try:
        return load(folder)
    except FileNotFoundError:
        return []
    except ValueError as exc:
        log.error("%s %s: %s; electronic registration reads the folder as empty", key, folder, exc)
        return []


def runtime() -> Runtime:
    return current_app.extensions["idp"]
