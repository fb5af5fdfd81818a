"""When the citizen is told (idp.accounts.notices, the one place that decides) and the new-device
memory behind it (idp.accounts.devices): a browser is known by its cookie's digest, per account."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from idp.accounts import devices, notices
from idp.accounts.devices import KnownDevice
from idp.lifecycle import citizen as citizen_verbs
from idp.lifecycle import signin
from idp.lifecycle.context import context_for
from idp.lifecycle.signin import Device

from ..support.factories import PASSWORD, make_account
from ..support.lifecycle import NEW_PASSWORD

CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36"


@pytest.fixture
def ctx(rt, db, mail):
    return context_for(rt, db.session, mail)


@pytest.mark.parametrize("event", sorted(notices.SECURITY_CHANGES))
def test_every_security_change_is_told(rt, event):
    assert notices.is_due(event, make_account(rt), rt.now())


def test_nothing_is_told_without_an_address(rt):
    assert not notices.is_due(notices.PASSWORD_RECOVERED, make_account(rt, email=None), rt.now())


def test_a_new_browser_is_told_but_not_a_known_one_nor_a_new_citizens_first(rt):
    account = make_account(rt)
    assert notices.is_due(notices.NEW_DEVICE, account, rt.now(), devices_before=0)
    assert not notices.is_due(notices.NEW_DEVICE, account, rt.now(), device_known=True, devices_before=1)
    account.activated_at = rt.now() - timedelta(minutes=5)
    assert not notices.is_due(notices.NEW_DEVICE, account, rt.now(), devices_before=0)
    assert notices.is_due(notices.NEW_DEVICE, account, rt.now(), devices_before=1)


def test_a_browser_is_remembered_by_its_cookie_digest_only(rt, db):
    account = make_account(rt)
    cookie = "d" * 43
    assert devices.remember(db.session, account, cookie, rt.now()) is False
    assert devices.remember(db.session, account, cookie, rt.now()) is True
    assert devices.remember(db.session, make_account(rt), cookie, rt.now()) is False  # per account
    stored = db.session.scalars(select(KnownDevice.device_digest)).all()
    assert cookie not in stored and len(stored) == 2


def test_a_browser_is_named_in_plain_words():
    assert devices.describe(CHROME) == devices.Described("Chrome 130", "Windows")
    assert devices.describe("") == devices.Described("", "")


def test_signing_in_from_a_new_browser_sends_the_notice_once(ctx, rt, mail):
    account = make_account(rt)
    usual = Device("192.0.2.4", CHROME, "b" * 43)
    for _ in range(2):
        signin.sign_in(ctx, account.username, PASSWORD, usual, rt.now())
    [notice] = mail.of("security_notice")
    assert notice.context["event"] == "new_device"
    assert (notice.context["browser"], notice.context["system"], notice.context["address"]) == ("Chrome 130", "Windows", "192.0.2.4")
    assert notice.context["recovery_url"].endswith("/recover") and notice.context["password_url"].endswith("/account/password")
    signin.sign_in(ctx, account.username, PASSWORD, Device("192.0.2.5", CHROME, "c" * 43), rt.now())
    assert len(mail.of("security_notice")) == 2


def test_a_password_change_is_told_through_the_one_decision(ctx, rt, mail):
    account = make_account(rt)
    citizen_verbs.change_password(ctx, account, PASSWORD, NEW_PASSWORD, rt.now())
    assert len(mail.of("password_changed")) == 1
