"""Passkeys and security keys (WebAuthn) against a real database: registration and use verified by
py_webauthn, the relying party and origin the issuer's, user verification required, the sign
counter checked, single-use challenges, several keys per account, removal with the password and a
current code, and what ``amr`` and ``acr`` say afterwards."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from idp.accounts import assurance
from idp.accounts import passkeys as rules
from idp.accounts.errors import AccountError
from idp.accounts.passkey_records import Passkey
from idp.accounts.states import AccountState
from idp.audit import AuditEvent
from idp.lifecycle import passkeys as service
from idp.lifecycle import second_factor
from idp.lifecycle.context import context_for
from idp.lifecycle.signin import Device
from idp.security import totp

from ..support.authenticator import SoftAuthenticator
from ..support.factories import PASSWORD, make_account
from ..support.lifecycle import RecordingNotifier

ISSUER = "https://idp.example.gov.hu"
RP = rules.RelyingParty.of(ISSUER, "Ügyfélkapu")
DEVICE = Device("203.0.113.9", "test")


@pytest.fixture
def notifier():
    return RecordingNotifier()


@pytest.fixture
def ctx(rt, db, notifier):
    return context_for(rt, db.session, notifier)


@pytest.fixture
def citizen(ctx, rt, clock):
    """An account with Ügyfélkapu+ by authenticator app; ``citizen.code()`` is a fresh code."""
    account = make_account(rt)
    secret = second_factor.begin_enrolment(ctx, account)
    codes = second_factor.confirm_enrolment(ctx, account, totp.code_at(secret, clock.now()), clock.now())

    class Who:
        pass

    who = Who()
    who.account, who.recovery_codes = account, codes

    def code():
        clock.advance(seconds=30)
        return totp.code_at(secret, clock.now())

    who.code = code
    return who


def add(ctx, rt, account, key: SoftAuthenticator, name: str = "Laptop", **lie) -> Passkey:
    ceremony = service.registration(ctx, RP, account, rules.new_challenge())
    service.register(ctx, RP, account, ceremony, key.create(ceremony.options, **lie), name, rt.now())
    return ctx.session.scalar(select(Passkey).where(Passkey.credential_id == key.id))


def use(ctx, rt, account, key: SoftAuthenticator, **lie):
    challenge = rules.new_challenge()
    options = service.authentication(ctx, RP, challenge, account).options
    return rules.authenticate(ctx.session, RP, challenge, key.get(options, **lie), rt.now(), account=account)


def test_the_relying_party_is_the_issuer_s_host_and_origin():
    rp = rules.RelyingParty.of("https://login.example.gov.hu/idp", "Ügyfélkapu")
    assert (rp.id, rp.origin) == ("login.example.gov.hu", "https://login.example.gov.hu")
    assert rules.RelyingParty.of("http://localhost:5000", "x").origin == "http://localhost:5000"


def test_registration_asks_for_user_verification_and_excludes_the_account_s_keys(ctx, rt, citizen):
    first = add(ctx, rt, citizen.account, SoftAuthenticator(RP.origin))
    import json

    options = json.loads(service.registration(ctx, RP, citizen.account, rules.new_challenge()).options)
    assert options["rp"] == {"id": "idp.example.gov.hu", "name": "Ügyfélkapu"}
    assert options["authenticatorSelection"]["userVerification"] == "required"
    assert options["attestation"] == "none"
    assert [c["id"] for c in options["excludeCredentials"]] == [first.credential_id]
    assert options["user"]["id"] == first.user_handle  # random, the same for every key of the account
    assert citizen.account.username not in options["user"]["id"]


def test_several_keys_each_with_a_name_and_dates(ctx, rt, citizen, clock, notifier):
    phone = add(ctx, rt, citizen.account, SoftAuthenticator(RP.origin, backup_eligible=True), "Telefon")
    clock.advance(seconds=60)
    key = add(ctx, rt, citizen.account, SoftAuthenticator(RP.origin), "YubiKey")
    listed = service.listed(ctx, citizen.account)
    assert [(p.name, p.backup_eligible) for p in listed] == [("Telefon", True), ("YubiKey", False)]
    assert phone.created_at < key.created_at and key.last_used_at is None
    assert phone.public_key and phone.user_handle == key.user_handle
    assert [s.context["change"] for s in notifier.of("second_factor_changed")][-2:] == ["passkey_added"] * 2
    events = ctx.session.scalars(select(AuditEvent.event).where(AuditEvent.account_id == citizen.account.id)).all()
    assert events.count("passkey_added") == 2


def test_a_key_made_for_another_site_is_refused_at_registration(ctx, rt, citizen):
    with pytest.raises(AccountError) as wrong_rp:
        add(ctx, rt, citizen.account, SoftAuthenticator(RP.origin), rp_id="evil.example")
    with pytest.raises(AccountError) as wrong_origin:
        add(ctx, rt, citizen.account, SoftAuthenticator("https://evil.example"))
    assert wrong_rp.value.reason == wrong_origin.value.reason == "passkey_failed"
    assert service.listed(ctx, citizen.account) == []


def test_a_key_without_user_verification_is_refused(ctx, rt, citizen):
    with pytest.raises(AccountError) as err:
        add(ctx, rt, citizen.account, SoftAuthenticator(RP.origin), uv=False)
    assert err.value.reason == "passkey_failed"
    key = SoftAuthenticator(RP.origin)
    add(ctx, rt, citizen.account, key)
    with pytest.raises(AccountError):
        use(ctx, rt, citizen.account, key, uv=False)


def test_a_passkey_needs_ugyfelkapu_plus_first(ctx, rt):
    account = make_account(rt)
    with pytest.raises(AccountError) as err:
        add(ctx, rt, account, SoftAuthenticator(RP.origin))
    assert err.value.reason == "second_factor_not_enrolled"


@pytest.mark.parametrize("name", ["", " ", "x" * 65, "<b>kulcs</b>", "kulcs\x07"], ids=["empty", "blank", "long", "markup", "control"])
def test_a_name_must_be_readable(ctx, rt, citizen, name):
    with pytest.raises(AccountError) as err:
        add(ctx, rt, citizen.account, SoftAuthenticator(RP.origin), name=name)
    assert err.value.reason == "passkey_name_invalid"


def test_adding_needs_the_password_and_a_current_code(ctx, rt, citizen):
    account = citizen.account
    for password, code, reason in [("wrong", citizen.code(), "password_wrong"), (PASSWORD, "000000", "second_factor_failed")]:
        with pytest.raises(AccountError) as err:
            service.begin_registration(ctx, account, password, code, "Laptop", rt.now())
        assert err.value.reason == reason
    assert service.begin_registration(ctx, account, PASSWORD, citizen.code(), "  Laptop  ", rt.now()) == "Laptop"


def test_a_use_verifies_states_the_method_and_moves_the_counter(ctx, rt, citizen, clock):
    key = SoftAuthenticator(RP.origin)
    add(ctx, rt, citizen.account, key)
    clock.advance(seconds=5)
    used = use(ctx, rt, citizen.account, key)
    assert used.passkey.sign_count == 1 and used.passkey.last_used_at == clock.now()
    assert used.amr(password=True) == ["pwd", "hwk", "user", "mfa"]
    assert used.amr(password=False) == ["hwk", "user", "mfa"]


def test_a_synced_passkey_is_swk(ctx, rt, citizen):
    key = SoftAuthenticator(RP.origin, backup_eligible=True)
    add(ctx, rt, citizen.account, key)
    assert use(ctx, rt, citizen.account, key).amr(password=True) == ["pwd", "swk", "user", "mfa"]


def test_a_counter_that_did_not_grow_is_refused(ctx, rt, citizen):
    key = SoftAuthenticator(RP.origin)
    add(ctx, rt, citizen.account, key)
    use(ctx, rt, citizen.account, key)
    use(ctx, rt, citizen.account, key)
    with pytest.raises(AccountError) as err:
        use(ctx, rt, citizen.account, key, sign_count=1)  # a clone that missed the last use
    assert err.value.reason == "passkey_failed"


def test_an_authenticator_without_a_counter_is_accepted(ctx, rt, citizen):
    key = SoftAuthenticator(RP.origin, counter=False)  # synced passkeys often report 0
    add(ctx, rt, citizen.account, key)
    use(ctx, rt, citizen.account, key)
    assert use(ctx, rt, citizen.account, key).passkey.sign_count == 0


@pytest.mark.parametrize(("lie", "value"), [("rp_id", "evil.example"), ("origin", "https://evil.example"),
                                            ("origin", "http://idp.example.gov.hu")])
def test_an_assertion_for_another_site_is_refused(ctx, rt, citizen, lie, value):
    key = SoftAuthenticator(RP.origin)
    add(ctx, rt, citizen.account, key)
    with pytest.raises(AccountError) as err:
        use(ctx, rt, citizen.account, key, **{lie: value})
    assert err.value.reason == "passkey_failed"


def test_a_challenge_is_the_one_it_was_made_for(ctx, rt, citizen):
    key = SoftAuthenticator(RP.origin)
    add(ctx, rt, citizen.account, key)
    options = service.authentication(ctx, RP, rules.new_challenge(), citizen.account).options
    with pytest.raises(AccountError):
        rules.authenticate(ctx.session, RP, rules.new_challenge(), key.get(options), rt.now(), account=citizen.account)


def test_another_account_s_key_or_garbage_is_refused(ctx, rt, citizen):
    key = SoftAuthenticator(RP.origin)
    add(ctx, rt, citizen.account, key)
    other = make_account(rt)
    for response in ["", "{", "[]", '{"id": 5}', "x" * (rules.RESPONSE_MAX + 1)]:
        with pytest.raises(AccountError):
            rules.authenticate(ctx.session, RP, rules.new_challenge(), response, rt.now())
    with pytest.raises(AccountError):
        use(ctx, rt, other, key)


def test_a_removed_key_is_refused(ctx, rt, citizen, notifier):
    key = SoftAuthenticator(RP.origin)
    passkey = add(ctx, rt, citizen.account, key)
    with pytest.raises(AccountError) as err:
        service.remove(ctx, citizen.account, passkey.id, "wrong", citizen.code(), rt.now())
    assert err.value.reason == "password_wrong"
    service.remove(ctx, citizen.account, passkey.id, PASSWORD, citizen.code(), rt.now())
    assert service.listed(ctx, citizen.account) == []
    assert notifier.of("second_factor_changed")[-1].context["change"] == "passkey_removed"
    with pytest.raises(AccountError):
        use(ctx, rt, citizen.account, key)


def test_removal_works_with_a_recovery_code(ctx, rt, citizen):
    passkey = add(ctx, rt, citizen.account, SoftAuthenticator(RP.origin))
    service.remove(ctx, citizen.account, passkey.id, PASSWORD, citizen.recovery_codes[0], rt.now())
    assert service.listed(ctx, citizen.account) == []


def test_turning_ugyfelkapu_plus_off_removes_the_passkeys(ctx, rt, citizen):
    add(ctx, rt, citizen.account, SoftAuthenticator(RP.origin))
    second_factor.remove(ctx, citizen.account, PASSWORD, citizen.code(), rt.now())
    assert service.listed(ctx, citizen.account) == []


def test_after_the_password_the_session_is_substantial(ctx, rt, citizen):
    key = SoftAuthenticator(RP.origin)
    add(ctx, rt, citizen.account, key)
    challenge = rules.new_challenge()
    options = service.authentication(ctx, RP, challenge, citizen.account).options
    signed = service.second_step(ctx, RP, citizen.account, challenge, key.get(options), DEVICE, rt.now())
    assert signed.session.amr == ["pwd", "hwk", "user", "mfa"]
    assert signed.session.acr == assurance.SUBSTANTIAL


def test_a_step_up_raises_the_session(ctx, rt, citizen):
    from idp.sessions import service as sessions

    key = SoftAuthenticator(RP.origin, backup_eligible=True)
    add(ctx, rt, citizen.account, key)
    sso, _secret = sessions.start(ctx.session, citizen.account, rt.now(), ["pwd"], assurance.LOW)
    challenge = rules.new_challenge()
    options = service.authentication(ctx, RP, challenge, citizen.account).options
    assert service.step_up(ctx, RP, sso, citizen.account, challenge, key.get(options), DEVICE, rt.now())
    assert sso.amr == ["pwd", "swk", "user", "mfa"] and sso.acr == assurance.SUBSTANTIAL


def test_a_passwordless_sign_in_finds_the_account_by_its_key(ctx, rt, citizen):
    key = SoftAuthenticator(RP.origin)
    add(ctx, rt, citizen.account, key)
    challenge = rules.new_challenge()
    options = service.authentication(ctx, RP, challenge).options
    signed = service.sign_in(ctx, RP, challenge, key.get(options), DEVICE, rt.now())
    assert signed.account.id == citizen.account.id
    assert signed.session.amr == ["hwk", "user", "mfa"] and signed.session.acr == assurance.SUBSTANTIAL


def test_a_user_handle_of_someone_else_is_refused(ctx, rt, citizen):
    key = SoftAuthenticator(RP.origin)
    add(ctx, rt, citizen.account, key)
    key.user_handle = "c29tZW9uZS1lbHNl"
    challenge = rules.new_challenge()
    with pytest.raises(AccountError):
        service.sign_in(ctx, RP, challenge, key.get(service.authentication(ctx, RP, challenge).options), DEVICE, rt.now())


def test_an_ended_account_cannot_sign_in_with_its_key(ctx, rt, citizen, db):
    key = SoftAuthenticator(RP.origin)
    add(ctx, rt, citizen.account, key)
    citizen.account.state = AccountState.DELETED
    citizen.account.password_hash = None
    db.session.commit()
    challenge = rules.new_challenge()
    with pytest.raises(AccountError):
        service.sign_in(ctx, RP, challenge, key.get(service.authentication(ctx, RP, challenge).options), DEVICE, rt.now())


def test_without_passkey_in_the_policy_a_passkey_gives_low():
    policy = assurance.AssurancePolicy.of(["otp"])
    assert assurance.level_for(["pwd", "hwk", "user", "mfa"], policy) == assurance.LOW
    assert assurance.level_for(["hwk", "user", "mfa"], policy) == assurance.LOW
    assert assurance.level_for(["hwk", "user", "mfa"], assurance.AssurancePolicy()) == assurance.SUBSTANTIAL


def test_erasure_removes_the_passkeys(ctx, rt, citizen, db):
    from idp.accounts import erasure

    add(ctx, rt, citizen.account, SoftAuthenticator(RP.origin), "Éva telefonja")
    erasure.erase(citizen.account, rt.now(), AccountState.DELETED)
    db.session.commit()
    assert db.session.scalars(select(Passkey)).all() == []


def test_a_step_up_with_a_passkey_is_offered_only_where_it_reaches_the_level(ctx, rt, citizen):
    assert not rules.can_reach(ctx.session, citizen.account, assurance.SUBSTANTIAL, assurance.AssurancePolicy())
    add(ctx, rt, citizen.account, SoftAuthenticator(RP.origin))
    assert rules.can_reach(ctx.session, citizen.account, assurance.SUBSTANTIAL, assurance.AssurancePolicy())
    assert not rules.can_reach(ctx.session, citizen.account, assurance.SUBSTANTIAL, assurance.AssurancePolicy.of(["otp"]))
