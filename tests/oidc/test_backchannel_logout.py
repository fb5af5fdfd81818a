"""OpenID Connect Back-Channel Logout 1.0 (issue 4, "Signing out everywhere").

Every way a session ends tells the agencies that hold it: a signed logout token
POSTed to their ``backchannel_logout_uri``, validated here with PyJWT (a JOSE
library the provider does not use) against the provider's published keys.
Retries follow the configured backoff, each attempt is recorded, redirects are
not followed.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import jwt as pyjwt
import pytest
from sqlalchemy import select

from idp.lifecycle import access, citizen as citizen_service
from idp.lifecycle.context import context_for
from idp.lifecycle.jobs import run_jobs
from idp.lifecycle.context import Links
from idp.oidc.backchannel import EVENT
from idp.authorizations.models import LogoutNotice
from idp.sessions.models import SsoSession

from ..conftest import make_settings
from ..support.factories import make_client
from ..support.flows import Agency, csrf_of
from ..support.network import Resolver, listening
from ..support.protocol import id_token_claims
from ..support.receiver import logout_receiver

RETRIES = [60, 300]


@pytest.fixture
def settings(database_url, keys_dir):
    # Delivered before the response, so each test reads the outcome without waiting.
    return make_settings(
        database_url, keys_dir,
        logout={"backchannel_in_background": False, "backchannel_timeout_seconds": 1, "backchannel_retry_seconds": RETRIES},
    )


@pytest.fixture
def receiver():
    with logout_receiver() as r:
        yield r


def agency_with_logout(client, rt, uri: str, alg: str = "RS256") -> Agency:
    c, secret = make_client(rt, backchannel_logout_uri=uri, alg=alg)
    return Agency(client, c, secret)


def validated(client, rt, token: str, agency: Agency) -> tuple[dict, dict]:
    """Validate like an agency would (spec §2.6), with PyJWT against the published JWKS."""
    header = pyjwt.get_unverified_header(token)
    jwks = client.get("/jwks.json").get_json()
    key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    claims = pyjwt.decode(
        token,
        pyjwt.PyJWK(key).key,
        algorithms=[header["alg"]],
        audience=agency.client.client_id,
        issuer=rt.issuer,
        options={"require": ["iss", "aud", "iat", "exp", "jti", "events"]},
    )
    return header, claims


def sign_out(browser):
    """The citizen presses "Sign out" on the provider's home page (the CSRF-checked form)."""
    page = browser.get("/")
    return browser.post("/logout", data={"csrf_token": csrf_of(page.get_data(as_text=True))})


def signed_in_with_tokens(citizen, *agencies):
    citizen.sign_in()
    return [a.tokens() for a in agencies]


def test_sign_out_sends_every_agency_in_the_session_a_valid_logout_token(client, rt, citizen, receiver):
    first = agency_with_logout(client, rt, receiver.url)
    second = agency_with_logout(client, rt, receiver.url, alg="ES256")
    silent, _ = make_client(rt)  # no backchannel_logout_uri: nothing to send
    first_tokens, second_tokens = signed_in_with_tokens(citizen, first, second)
    Agency(client, silent, _).tokens()
    id_claims = {a.client.client_id: id_token_claims(rt, t["id_token"]) for a, t in ((first, first_tokens), (second, second_tokens))}

    sign_out(client)

    assert len(receiver.received) == 2
    assert all(r["method"] == "POST" and r["content_type"] == "application/x-www-form-urlencoded" for r in receiver.received)
    seen = set()
    for token in receiver.tokens:
        header = pyjwt.get_unverified_header(token)
        agency = first if header["alg"] == "RS256" else second
        header, claims = validated(client, rt, token, agency)
        assert header["typ"] == "logout+jwt"
        expected = id_claims[agency.client.client_id]
        assert claims["sid"] == expected["sid"] and claims["sub"] == expected["sub"]
        assert claims["events"] == {EVENT: {}}
        assert "nonce" not in claims
        assert claims["exp"] > claims["iat"]
        seen.add(agency.client.client_id)
    assert seen == {first.client.client_id, second.client.client_id}
    notices = db_notices(rt)
    assert all(n.delivered_at is not None and n.attempts[-1]["outcome"] == "delivered" for n in notices)
    assert len({n.jti for n in notices}) == 2


def db_notices(rt):
    from idp.extensions import db

    db.session.expire_all()
    return list(db.session.scalars(select(LogoutNotice).order_by(LogoutNotice.id)))


def test_an_agency_only_hears_about_sessions_it_was_part_of(client, rt, citizen, receiver):
    agency = agency_with_logout(client, rt, receiver.url)
    citizen.sign_in()
    agency.tokens()
    other_browser = client.application.test_client()
    from ..support.flows import Citizen

    Citizen(other_browser, rt, citizen.account).sign_in()  # a second session, no agency in it
    sign_out(other_browser)
    assert receiver.received == []


def test_rp_initiated_logout_tells_the_agencies(client, rt, citizen, receiver):
    agency = agency_with_logout(client, rt, receiver.url)
    citizen.sign_in()
    tokens = agency.tokens()
    response = client.get("/end-session", query_string={"id_token_hint": tokens["id_token"], "client_id": agency.client.client_id})
    assert response.status_code in (200, 302, 303)
    [token] = receiver.tokens
    _, claims = validated(client, rt, token, agency)
    assert claims["sid"] == id_token_claims(rt, tokens["id_token"])["sid"]


def test_an_agency_that_does_not_answer_is_retried_with_backoff_and_each_attempt_recorded(client, rt, citizen):
    with logout_receiver(statuses=[503, 500]) as receiver:
        agency = agency_with_logout(client, rt, receiver.url)
        citizen.sign_in()
        agency.tokens()
        sign_out(client)
        [notice] = db_notices(rt)
        assert notice.delivered_at is None and notice.attempts[0]["outcome"] == "http 503"
        assert notice.next_attempt_at == rt.now() + timedelta(seconds=RETRIES[0])

        from idp.extensions import db

        report = run_jobs(db.session, rt.now(), rt.policy, rt.mailer, links=Links.under(rt.issuer), logout=rt.logout)
        assert report.logout == {} and len(receiver.received) == 1  # not due yet

        rt.clock.advance(seconds=RETRIES[0])
        report = run_jobs(db.session, rt.now(), rt.policy, rt.mailer, links=Links.under(rt.issuer), logout=rt.logout)
        assert report.logout == {"http 500": 1}
        rt.clock.advance(seconds=RETRIES[1])
        report = run_jobs(db.session, rt.now(), rt.policy, rt.mailer, links=Links.under(rt.issuer), logout=rt.logout)
        assert report.logout == {"delivered": 1}
        [notice] = db_notices(rt)
        assert [a["outcome"] for a in notice.attempts] == ["http 503", "http 500", "delivered"]
        assert len(set(receiver.tokens)) == 3 and len({pyjwt.decode(t, options={"verify_signature": False})["jti"] for t in receiver.tokens}) == 1


def test_after_the_last_retry_the_notice_is_given_up_and_kept(client, rt, citizen):
    with logout_receiver(statuses=[503, 503, 503]) as receiver:
        agency = agency_with_logout(client, rt, receiver.url)
        citizen.sign_in()
        agency.tokens()
        sign_out(client)
        from idp.extensions import db

        for wait in RETRIES:
            rt.clock.advance(seconds=wait)
            run_jobs(db.session, rt.now(), rt.policy, rt.mailer, links=Links.under(rt.issuer), logout=rt.logout)
        [notice] = db_notices(rt)
        assert notice.given_up_at is not None and notice.delivered_at is None
        assert len(notice.attempts) == 3 == len(receiver.received)
        rt.clock.advance(days=1)
        run_jobs(db.session, rt.now(), rt.policy, rt.mailer, links=Links.under(rt.issuer), logout=rt.logout)
        assert len(receiver.received) == 3


def test_a_redirect_is_not_followed(client, rt, citizen):
    with logout_receiver() as elsewhere, logout_receiver(statuses=[(302, "")]) as receiver:
        receiver.statuses[0] = (302, elsewhere.url)
        agency = agency_with_logout(client, rt, receiver.url)
        citizen.sign_in()
        agency.tokens()
        sign_out(client)
        [notice] = db_notices(rt)
        assert notice.attempts[0]["outcome"] == "http 302"
        assert elsewhere.received == []


def test_an_unreachable_agency_is_recorded_not_raised(client, rt, citizen):
    from ..support.live import free_port

    agency = agency_with_logout(client, rt, f"http://127.0.0.1:{free_port()}/gone")
    citizen.sign_in()
    agency.tokens()
    response = sign_out(client)
    assert response.status_code == 303
    [notice] = db_notices(rt)
    assert notice.attempts[0]["outcome"].startswith("unreachable")
    assert notice.next_attempt_at > rt.now()


def test_delivery_to_a_name_resolving_to_a_private_address_is_a_failed_attempt_that_sends_nothing(
    client, rt, citizen, monkeypatch
):
    """The name answers a loopback address (allowed in development) and a private one: the whole
    answer is refused at every attempt, and the listener at the loopback address hears nothing."""
    from idp.extensions import db

    dns = Resolver(monkeypatch)
    with listening() as listener:
        dns.answer("logout.agency.test", ["127.0.0.1", "10.1.2.3"])
        agency = agency_with_logout(client, rt, f"https://logout.agency.test:{listener.port}/backchannel-logout")
        citizen.sign_in()
        agency.tokens()
        assert sign_out(client).status_code == 303
        [notice] = db_notices(rt)
        assert notice.delivered_at is None and notice.attempts[0]["outcome"] == "not a public address"
        assert notice.next_attempt_at == rt.now() + timedelta(seconds=RETRIES[0])
        for wait in RETRIES:
            rt.clock.advance(seconds=wait)
            report = run_jobs(db.session, rt.now(), rt.policy, rt.mailer, links=Links.under(rt.issuer), logout=rt.logout)
            assert report.logout == {"not a public address": 1}
        [notice] = db_notices(rt)
        assert notice.given_up_at is not None and notice.delivered_at is None and len(notice.attempts) == 3
    assert listener.connections == 0
    assert dns.lookups["logout.agency.test"] == 3


def test_no_logout_token_reaches_the_logs(client, rt, citizen, caplog):
    caplog.set_level(logging.DEBUG)
    with logout_receiver(statuses=[503]) as receiver:
        agency = agency_with_logout(client, rt, receiver.url)
        citizen.sign_in()
        agency.tokens()
        sign_out(client)
        from idp.extensions import db

        rt.clock.advance(seconds=RETRIES[0])
        run_jobs(db.session, rt.now(), rt.policy, rt.mailer, links=Links.under(rt.issuer), logout=rt.logout)
    assert len(receiver.tokens) == 2
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "back-channel logout notice" in text  # the attempts were logged, without their token
    assert not any(token in text for token in receiver.tokens)


def test_deletion_at_the_office_tells_the_agencies(client, rt, citizen, receiver):
    from idp.extensions import db

    agency = agency_with_logout(client, rt, receiver.url)
    citizen.sign_in()
    agency.tokens()
    ended = access.end_access(db.session, citizen.account.id, rt.now(), "account_deleted")
    db.session.commit()
    access.announce_logout(ended, rt.logout)
    [token] = receiver.tokens
    _, claims = validated(client, rt, token, agency)
    assert claims["sid"] in ended.sids


def test_password_change_ends_the_other_sessions_when_the_citizen_chooses(client, rt, citizen, receiver):
    from idp.extensions import db

    from ..support.flows import Citizen

    agency = agency_with_logout(client, rt, receiver.url)
    other = client.application.test_client()
    Citizen(other, rt, citizen.account).sign_in()
    Agency(other, agency.client, agency.secret).tokens()  # the agency holds the other device's session
    citizen.sign_in()
    mine = db.session.scalar(select(SsoSession.sid).where(SsoSession.ended_at.is_(None)).order_by(SsoSession.id.desc()))
    ctx = context_for(rt, db.session)
    citizen_service.change_password(ctx, citizen.account, citizen.password, "új jelszó a hegyen túl 2026", rt.now(), end_others_but=mine)
    [token] = receiver.tokens
    _, claims = validated(client, rt, token, agency)
    assert claims["sid"] != mine
    live = db.session.scalars(select(SsoSession.sid).where(SsoSession.ended_at.is_(None))).all()
    assert live == [mine]


def test_password_change_without_the_choice_keeps_the_other_sessions(client, rt, citizen, receiver):
    from idp.extensions import db

    from ..support.flows import Citizen

    agency = agency_with_logout(client, rt, receiver.url)
    other = client.application.test_client()
    Citizen(other, rt, citizen.account).sign_in()
    Agency(other, agency.client, agency.secret).tokens()
    citizen.sign_in()
    page = client.get("/account/password")
    response = client.post("/account/password", data={
        "csrf_token": csrf_of(page.get_data(as_text=True)), "current_password": citizen.password,
        "new_password": "új jelszó a hegyen túl 2026", "confirm_password": "új jelszó a hegyen túl 2026",
    })
    assert response.status_code == 303
    assert receiver.received == []
    assert len(db.session.scalars(select(SsoSession.sid).where(SsoSession.ended_at.is_(None))).all()) == 2


def test_discovery_says_back_channel_logout_with_sid_is_supported(client):
    doc = client.get("/.well-known/openid-configuration").get_json()
    assert doc["backchannel_logout_supported"] is True
    assert doc["backchannel_logout_session_supported"] is True


def test_background_delivery_arrives_after_the_response(database_url, keys_dir, _schema, clock):
    from idp.app import create_app

    from ..conftest import _empty_tables
    from ..support.factories import make_account
    from ..support.flows import Citizen

    app = create_app(make_settings(database_url, keys_dir), clock=clock)
    with app.app_context(), logout_receiver() as receiver:
        from idp.extensions import db

        try:
            rt = app.extensions["idp"]
            browser = app.test_client()
            agency = agency_with_logout(browser, rt, receiver.url)
            Citizen(browser, rt, make_account(rt)).sign_in()
            agency.tokens()
            sign_out(browser)
            [token] = receiver.wait(1)
            validated(browser, rt, token, agency)
            rt.logout.wait()
        finally:
            db.session.remove()
            _empty_tables()
            db.engine.dispose()
