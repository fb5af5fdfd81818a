"""Offices and officers: officers always sign in with a second factor (PRODUCT.md, "Second factor").

Password and a TOTP code; the TOTP secret sealed at rest; a code accepted once
(RFC 6238 §5.2), also when two sign-ins race with it; the registering-office
permission of rules 9 and 10.
"""

from __future__ import annotations

import threading
import pyotp
import pytest
from sqlalchemy.orm import Session

from idp.accounts.errors import AccountError
from idp.offices.models import Officer
from idp.offices.service import check_registering_office, create_office, create_officer, verify_officer
from idp.security import totp
from idp.security.sealing import SealError, Sealer

from ..support.factories import make_account
from ..support.lifecycle import OFFICER_PASSWORD, make_office, make_officer


def sign_in(rt, db, login, password=None, code=None):
    return verify_officer(
        db.session, rt.passwords, rt.sealer, login.officer.username, password or login.password,
        code if code is not None else login.code(rt), rt.now(),
    )


def refused(call) -> str:
    with pytest.raises(AccountError) as caught:
        call()
    return caught.value.reason


def test_an_officer_signs_in_with_password_and_totp(rt, db):
    login = make_officer(rt)
    assert sign_in(rt, db, login).id == login.officer.id
    # What an authenticator app reads from the otpauth:// URI gives the codes the provider accepts.
    assert login.uri.startswith("otpauth://totp/")
    assert pyotp.parse_uri(login.uri).at(rt.now()) == totp.code_at(login.totp_secret, rt.now())


@pytest.mark.parametrize("wrong", ["password", "code", "username", "inactive"])
def test_every_failed_officer_sign_in_is_one_reason(wrong, rt, db):
    login = make_officer(rt)
    if wrong == "password":
        call = lambda: sign_in(rt, db, login, password="not-the-password-at-all")  # noqa: E731
    elif wrong == "code":
        call = lambda: sign_in(rt, db, login, code="000000" if login.code(rt) != "000000" else "111111")  # noqa: E731
    elif wrong == "username":
        call = lambda: verify_officer(db.session, rt.passwords, rt.sealer, "nobody", OFFICER_PASSWORD,  # noqa: E731
                                      login.code(rt), rt.now())
    else:
        login.officer.active = False
        db.session.commit()
        call = lambda: sign_in(rt, db, login)  # noqa: E731
    assert refused(call) == "officer_sign_in_failed"


def test_a_totp_code_is_accepted_once(rt, db):
    login = make_officer(rt)
    code = login.code(rt)
    sign_in(rt, db, login, code=code)
    db.session.commit()
    assert refused(lambda: sign_in(rt, db, login, code=code)) == "officer_sign_in_failed"
    # Nor an older code of the window once a newer one was used.
    rt.clock.advance(seconds=30)
    sign_in(rt, db, login)
    db.session.commit()
    assert refused(lambda: sign_in(rt, db, login, code=login.code(rt, offset_steps=-1))) == "officer_sign_in_failed"


def test_a_code_of_the_next_or_previous_step_is_accepted_for_clock_drift(rt, db):
    login = make_officer(rt)
    assert sign_in(rt, db, login, code=login.code(rt, offset_steps=-1))
    db.session.commit()
    assert sign_in(rt, db, login, code=login.code(rt, offset_steps=1))
    db.session.commit()
    assert refused(lambda: sign_in(rt, db, login, code=login.code(rt, offset_steps=3))) == "officer_sign_in_failed"


def test_two_sign_ins_with_the_same_code_at_once_only_one_wins(rt, db):
    login = make_officer(rt)
    code = login.code(rt)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []
    engine, username = db.engine, login.officer.username

    def attempt():
        with Session(engine) as session:
            barrier.wait()
            try:
                verify_officer(session, rt.passwords, rt.sealer, username, login.password, code, rt.now())
                session.commit()
                outcomes.append("ok")
            except AccountError as exc:
                session.rollback()
                outcomes.append(exc.reason)

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes) == ["officer_sign_in_failed", "ok"]


def test_the_totp_secret_is_stored_sealed(rt, db):
    login = make_officer(rt)
    stored = db.session.get(Officer, login.officer.id).totp_secret_sealed
    assert login.totp_secret not in stored
    assert rt.sealer.unseal(stored) == login.totp_secret
    with pytest.raises(SealError):
        Sealer("another server secret of enough length!!").unseal(stored)


def test_an_officer_password_follows_the_password_rules(rt, db):
    office = make_office(rt)
    reason = refused(lambda: create_officer(db.session, rt.passwords, rt.sealer, rt.now(), office, "uj.ugyintezo",
                                            "Új Ügyintéző", "short"))
    assert reason == "password_too_short"


def test_officer_usernames_and_office_codes_are_unique(rt, db):
    office = make_office(rt, code="BP-01")
    make_officer(rt, office, username="Kovacs.Peter")
    assert refused(lambda: make_officer(rt, office, username="kovacs.peter")) == "officer_username_taken"
    assert refused(lambda: create_office(db.session, rt.now(), "bp-01", "Másik")) == "office_code_taken"
    assert refused(lambda: create_office(db.session, rt.now(), "x", "Túl rövid kód")) == "office_code_invalid"


def test_only_an_officer_of_the_registering_office_may_act_for_an_account(rt, db):
    home, other = make_officer(rt), make_officer(rt)
    account = make_account(rt, registering_office_id=home.officer.office_id)
    check_registering_office(home.officer, account)
    assert refused(lambda: check_registering_office(other.officer, account)) == "not_registering_office"
    home.officer.active = False
    assert refused(lambda: check_registering_office(home.officer, account)) == "officer_inactive"


def test_the_console_sign_in_is_audited_and_its_code_spent(rt, db):
    from idp.audit import events
    from idp.lifecycle.office import sign_in_officer

    from ..support.lifecycle import context

    login = make_officer(rt)
    ctx = context(rt)
    code = login.code(rt)
    officer = sign_in_officer(ctx, login.officer.username.upper(), login.password, code, rt.now())
    [event] = events(db.session, event="officer_signed_in")
    assert (event.actor, event.office_id) == (officer.username, officer.office_id)
    assert refused(lambda: sign_in_officer(ctx, officer.username, login.password, code, rt.now())) \
        == "officer_sign_in_failed"
