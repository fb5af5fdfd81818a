"""Every table, imported once so the metadata (and migrations) see them all."""

from idp.accounts.devices import KnownDevice
from idp.accounts.models import Account
from idp.accounts.passkey_records import Passkey
from idp.accounts.recovery import RecoveryLink
from idp.accounts.records import ActivationCode, EmailCode, RecoveryCode, Reminder
from idp.audit import AuditEvent
from idp.clients.models import Client, InitialAccessToken
from idp.interactions.models import Interaction
from idp.authorizations.models import AuthorizationCode, Consent, Token
from idp.offices.models import Office, Officer
from idp.sessions.models import SsoSession

__all__ = [
    "Account",
    "ActivationCode",
    "AuditEvent",
    "AuthorizationCode",
    "Client",
    "Consent",
    "EmailCode",
    "InitialAccessToken",
    "KnownDevice",
    "Interaction",
    "Office",
    "Officer",
    "Passkey",
    "RecoveryCode",
    "RecoveryLink",
    "Reminder",
    "SsoSession",
    "Token",
]
