"""Every table, imported once so the metadata (and migrations) see them all."""

from idp.accounts.models import Account
from idp.clients.models import Client
from idp.oidc.models import AuthorizationCode, Consent, Token
from idp.offices.models import Office
from idp.sessions.models import SsoSession

__all__ = ["Account", "AuthorizationCode", "Client", "Consent", "Office", "SsoSession", "Token"]
