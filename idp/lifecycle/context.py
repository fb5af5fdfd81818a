"""What every lifecycle verb needs besides its arguments, built once per request or command.

The notifier is anything with the mailer's ``send_template`` (``idp.mail.Mailer``);
tests pass one that records. Mail is sent after the commit and a failure to
send is logged and reported, never raised: the action happened, and the page
or the job says the mail did not go.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.accounts.assurance import AssurancePolicy
from idp.accounts.errors import AccountError
from idp.accounts.models import Account
from idp.accounts.policy import ValidityPolicy
from idp.accounts.recovery import RecoveryPolicy
from idp.audit import CITIZEN, OFFICER, Actor
from idp.offices.models import Officer
from idp.security.passwords import Passwords
from idp.security.sealing import Sealer
from idp.security.secrets import KeyedDigest
from idp.sessions.request_limit import RequestLimit

log = logging.getLogger("idp.lifecycle")

#: Where the mails send the citizen; the pages serve these paths.
ACTIVATION_PATH = "/activate"
VALIDITY_PATH = "/account/validity"
PASSWORD_PATH = "/account/password"
RECOVERY_PATH = "/recover"
SIGN_IN_PATH = "/login"


class Notifier(Protocol):
    def send_template(self, to: str, template: str, locale: str | None, /, **context: Any) -> object: ...


@dataclass(frozen=True)
class Links:
    activation_url: str
    validity_url: str
    password_url: str
    #: The recovery page; a mailed link is ``recovery_url + "/link?token=" + token`` (a query string:
    #: the access log records paths only, gunicorn.conf.py).
    recovery_url: str = ""
    sign_in_url: str = ""

    @classmethod
    def under(cls, base_url: str) -> Links:
        base = base_url.rstrip("/")
        return cls(base + ACTIVATION_PATH, base + VALIDITY_PATH, base + PASSWORD_PATH, base + RECOVERY_PATH,
                   base + SIGN_IN_PATH)


@dataclass(frozen=True)
class Context:
    session: Session
    passwords: Passwords
    policy: ValidityPolicy
    notifier: Notifier
    links: Links
    #: The data-provision statement in force (rule 4), recorded with every registration.
    statement_version: str
    #: The CA certificates electronic registrations must chain to (read when needed).
    trust_anchors: Callable[[], list[bytes]] = field(default=list)
    #: The TSA certificates whose signature timestamps count (read when needed; none: no timestamp counts).
    timestamp_authorities: Callable[[], list[bytes]] = field(default=list)
    #: The CRLs signing certificates are checked against (read when needed).
    crls: Callable[[], list[bytes]] = field(default=list)
    #: Seals the electronic registration documents it issues, and checks them when they come back.
    registration_seal: KeyedDigest | None = None
    #: Unseals officers' TOTP secrets (officer sign-in).
    sealer: Sealer | None = None
    #: Unseals citizens' Ügyfélkapu+ TOTP secrets.
    citizen_sealer: Sealer | None = None
    #: Digests citizens' emailed Ügyfélkapu+ codes.
    email_code_digest: KeyedDigest | None = None
    #: Delivers back-channel logout notices after a commit (``idp.oidc.backchannel.Dispatcher``).
    logout: Any = None
    #: Which second factors reach ``substantial`` (``[assurance]``).
    assurance: AssurancePolicy = field(default_factory=AssurancePolicy)
    #: The office that stands as the registering office of electronic registrations ("" for none).
    electronic_office_code: str = ""
    #: Slows down and refuses repeated failed checks of a password or code (``idp.sessions.throttle``).
    throttle: Any = None
    #: Account recovery: the link's lifetime and the request limits (``[recovery]``).
    recovery: RecoveryPolicy = field(default_factory=RecoveryPolicy)
    #: Counts recovery requests per account and per address (``idp.sessions.request_limit``).
    recovery_limit: Any = None


def context_for(rt, session: Session, notifier: Notifier | None = None) -> Context:
    """The context of the running application (``idp.runtime.Runtime``)."""
    return Context(
        session=session,
        passwords=rt.passwords,
        policy=rt.policy,
        notifier=notifier or rt.mailer,
        links=Links.under(rt.issuer),
        statement_version=rt.settings.policy.statement_version,
        trust_anchors=rt.trust_anchors,
        timestamp_authorities=rt.timestamp_authorities,
        crls=rt.crls,
        registration_seal=rt.registration_seal,
        sealer=rt.sealer,
        citizen_sealer=rt.citizen_sealer,
        email_code_digest=rt.email_code_digest,
        logout=rt.logout,
        throttle=rt.throttle,
        assurance=rt.assurance,
        electronic_office_code=rt.settings.policy.electronic_registration_office,
        recovery=recovery_policy(rt.settings),
        recovery_limit=RequestLimit(rt.shared),
    )


def recovery_policy(settings) -> RecoveryPolicy:
    r = settings.recovery
    return RecoveryPolicy(
        link_lifetime=timedelta(minutes=r.link_minutes),
        per_account=r.requests_per_account,
        per_address=r.requests_per_address,
        window=timedelta(seconds=r.window_seconds),
    )


def find_account(ctx: Context, identifier: str) -> Account:
    """The account with this identifier (rule 5), as an officer types it; ``account_not_found``."""
    wanted = "".join((identifier or "").split()).upper()
    account = ctx.session.scalar(select(Account).where(Account.identifier == wanted)) if wanted else None
    if account is None:
        raise AccountError("account_not_found")
    return account


def officer_actor(officer: Officer) -> Actor:
    return Actor(OFFICER, officer.username, officer.office_id)


def citizen_actor(account: Account) -> Actor:
    return Actor(CITIZEN, account.identifier)


@dataclass(frozen=True)
class Contact:
    """Where to tell a citizen something; captured before an erasure empties the account."""

    account_id: int
    email: str | None
    locale: str
    name: str

    def __repr__(self) -> str:
        return f"<Contact account={self.account_id}>"


def contact_of(account: Account) -> Contact:
    return Contact(account.id, account.email, account.locale or "hu", account.display_name)


@dataclass
class Mail:
    contact: Contact
    template: str
    context: dict[str, Any]


def send(notifier: Notifier, mail: Mail) -> bool:
    """Send one mail; False (and a log line without the address or content) when it did not go."""
    contact = mail.contact
    if not contact.email:
        return False
    try:
        notifier.send_template(contact.email, mail.template, contact.locale, name=contact.name, **mail.context)
    except Exception as exc:  # any backend failure: the action stands, the mail is reported as not sent
        log.warning(
            "mail %s to account %s not sent: %s", mail.template, contact.account_id, getattr(exc, "reason", type(exc).__name__)
        )
        return False
    return True


@contextmanager
def transaction(session: Session) -> Iterator[None]:
    """Commit what the block did, or roll all of it back (a refused action leaves nothing behind,
    also when the web layer commits the request afterwards)."""
    try:
        yield
        session.commit()
    except BaseException:
        session.rollback()
        raise
