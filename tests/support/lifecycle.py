"""Factories and story helpers for the account lifecycle: offices, officers with TOTP,
registrations, documents, and a notifier that records what would be mailed."""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from idp.accounts.personal import Registration
from idp.accounts.registration import DocumentShown
from idp.extensions import db
from idp.lifecycle import citizen, registration
from idp.lifecycle.context import Context, Links
from idp.mail import MailTemplates
from idp.offices.service import create_office, create_officer
from idp.security import totp

OFFICER_PASSWORD = "hivatali-kapu-titok-2026"
NEW_PASSWORD = "tavaszi szél vizet áraszt 2026"
_seq = itertools.count(1)


@dataclass(frozen=True)
class Sent:
    to: str
    template: str
    locale: str | None
    context: dict[str, Any]


_templates = MailTemplates()


@dataclass
class RecordingNotifier:
    """Records every mail instead of sending it, after composing it with the real templates (so a
    missing context value fails the test); ``fail`` makes every send raise."""

    sent: list[Sent] = field(default_factory=list)
    fail: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def send_template(self, to: str, template: str, locale: str | None, /, **context: Any) -> str:
        if self.fail:
            raise OSError("mail server down")
        _templates.compose(template, to, locale, **context)
        with self._lock:
            self.sent.append(Sent(to, template, locale, context))
        return f"<{len(self.sent)}@test>"

    def of(self, template: str, to: str | None = None) -> list[Sent]:
        return [s for s in self.sent if s.template == template and (to is None or s.to == to)]

    def code_for(self, email: str) -> str:
        return self.of("activation_code", email)[-1].context["code"]


def context(rt, notifier: RecordingNotifier | None = None, session=None, **overrides) -> Context:
    values = dict(
        session=session or db.session,
        passwords=rt.passwords,
        policy=rt.policy,
        notifier=notifier if notifier is not None else RecordingNotifier(),
        links=Links.under(rt.issuer),
        statement_version=rt.settings.policy.statement_version,
        trust_anchors=list,
        sealer=rt.sealer,
        registration_seal=rt.registration_seal,
    )
    values.update(overrides)
    return Context(**values)


def make_office(rt, code: str | None = None, name: str | None = None):
    n = next(_seq)
    office = create_office(db.session, rt.now(), code or f"OFFICE-{n}", name or f"Kormányablak {n}", f"{n} Budapest")
    db.session.commit()
    return office


@dataclass
class OfficerLogin:
    officer: Any
    totp_secret: str
    uri: str
    password: str = OFFICER_PASSWORD

    def code(self, rt, offset_steps: int = 0) -> str:
        return totp.code_at(self.totp_secret, rt.now() + timedelta(seconds=30 * offset_steps))


def make_officer(rt, office=None, username: str | None = None, password: str = OFFICER_PASSWORD) -> OfficerLogin:
    office = office or make_office(rt)
    n = next(_seq)
    enrolment = create_officer(
        db.session, rt.passwords, rt.sealer, rt.now(), office, username or f"ugyintezo{n}", f"Ügyintéző {n}", password
    )
    db.session.commit()
    return OfficerLogin(enrolment.officer, enrolment.totp_secret, enrolment.provisioning_uri, password)


def registration_data(**overrides) -> Registration:
    """Valid, unique rule-3 data; override any field."""
    n = next(_seq)
    values = dict(
        username=f"polgar.{n}",
        family_name="Kiss",
        given_name=f"Anna{n}",
        birth_family_name="Kiss",
        birth_given_name=f"Anna{n}",
        mother_birth_family_name="Tóth",
        mother_birth_given_name="Ilona",
        birth_place="Szeged",
        birth_date=date(1970, 1, 1) + timedelta(days=n),
        email=f"polgar.{n}@example.hu",
        address_postal_code="6720",
        address_locality="Szeged",
        address_street="Kárász utca 5.",
    )
    values.update(overrides)
    return Registration(**values)


def identity_card(today: date, **overrides) -> DocumentShown:
    values = dict(doc_type="identity_card", number="123456 ab", issued_on=today - timedelta(days=400),
                  expires_on=today + timedelta(days=2000))
    values.update(overrides)
    return DocumentShown(**values)


def register_in_person(rt, ctx: Context, login: OfficerLogin | None = None, **data):
    """An office registration from scratch; returns the registration sheet."""
    login = login or make_officer(rt)
    return registration.register_in_person(
        ctx, login.officer, registration_data(**data), identity_card(rt.now().date()), rt.now(), statement_signed=True
    )


def activated(rt, ctx: Context, login: OfficerLogin | None = None, *, change_password: bool = True, **data):
    """A citizen registered at an office, activated with the mailed code, and (by default) with a
    password of their own: returns (account, password)."""
    sheet = register_in_person(rt, ctx, login, **data)
    email = sheet.account.email
    account = citizen.activate(ctx, sheet.username, sheet.initial_password, ctx.notifier.code_for(email), rt.now())
    if not change_password:
        return account, sheet.initial_password
    citizen.change_password(ctx, account, sheet.initial_password, NEW_PASSWORD, rt.now())
    return account, NEW_PASSWORD
