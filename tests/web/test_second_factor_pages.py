"""Ügyfélkapu+ through the real forms: the second sign-in step, enrolment, and step-up when an
agency asks for ``substantial`` (issue 4)."""

from __future__ import annotations

import json
import re


from idp.accounts import assurance
from idp.security import totp

from ..support.flows import csrf_of, is_signed_in, query_of, sessions_of
from ..support.protocol import id_token_claims as decode
from ..support.protocol import page_location, resume_of


# Sign-in


def test_no_session_starts_until_the_second_factor_code(citizen, rt, db):
    secret, _codes = citizen.with_second_factor()
    response = citizen.sign_in()
    assert response.status_code == 303 and response.headers["Location"].startswith("/login/second-factor")
    assert sessions_of(db, citizen.account) == [] and not is_signed_in(citizen.http)
    page = citizen.http.get("/login/second-factor").get_data(as_text=True)
    assert 'autocomplete="one-time-code"' in page and 'inputmode="numeric"' in page
    response = citizen.second_step(totp.code_at(secret, rt.now()))
    assert response.status_code == 303 and is_signed_in(citizen.http)
    (sso,) = sessions_of(db, citizen.account)
    assert sso.amr == ["pwd", "otp"] and sso.acr == assurance.SUBSTANTIAL


def test_a_reused_code_is_refused_at_sign_in(citizen, rt, db, client):
    secret, _codes = citizen.with_second_factor()
    code = totp.code_at(secret, rt.now())
    citizen.sign_in()
    citizen.second_step(code)
    citizen.http.post("/logout", data={"csrf_token": csrf_of(citizen.http.get("/").get_data(as_text=True))})
    assert not is_signed_in(citizen.http)
    citizen.sign_in()
    response = citizen.second_step(code)
    assert response.status_code == 303 and response.headers["Location"].startswith("/login/second-factor")
    assert not is_signed_in(citizen.http)


def test_a_recovery_code_signs_in_once(citizen, rt):
    _secret, codes = citizen.with_second_factor()
    citizen.sign_in()
    citizen.second_step(codes[0])
    assert is_signed_in(citizen.http)
    citizen.http.post("/logout", data={"csrf_token": csrf_of(citizen.http.get("/").get_data(as_text=True))})
    citizen.sign_in()
    citizen.second_step(codes[0])
    assert not is_signed_in(citizen.http)


def test_wrong_codes_are_throttled(citizen, rt):
    secret, _codes = citizen.with_second_factor()
    citizen.sign_in()
    right = totp.code_at(secret, rt.now())
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(12):
        citizen.second_step(wrong)
    citizen.second_step(right)
    assert not is_signed_in(citizen.http)  # held back by the throttle, even with the right code


def test_the_second_step_expires(citizen, rt):
    secret, _codes = citizen.with_second_factor()
    citizen.sign_in()
    rt.clock.advance(minutes=6)
    response = citizen.http.get("/login/second-factor")
    assert response.status_code == 303 and response.headers["Location"].startswith("/login")
    assert not is_signed_in(citizen.http)


def test_without_a_second_factor_the_password_alone_signs_in_at_low(citizen, db):
    citizen.sign_in()
    (sso,) = sessions_of(db, citizen.account)
    assert sso.amr == ["pwd"] and sso.acr == assurance.LOW


# Enrolment page


def test_enrolment_page_shows_a_qr_code_and_the_key_then_recovery_codes_once(citizen, rt, db):
    citizen.signed_in_quickly()
    html = citizen.http.get("/account/second-factor").get_data(as_text=True)
    assert re.search(r'<img src="data:image/svg\+xml;base64,[A-Za-z0-9+/=]+"', html)
    secret = re.search(r'<code id="secret">([A-Z2-7]+)</code>', html).group(1)
    assert citizen.http.get("/account/second-factor").get_data(as_text=True).count(secret) == 1  # same pending key
    response = citizen.http.post(
        "/account/second-factor", data={"csrf_token": csrf_of(html), "code": totp.code_at(secret, rt.now())}
    )
    assert response.status_code == 303
    shown = citizen.http.get("/account/second-factor").get_data(as_text=True)
    codes = re.findall(r"<li><code>([A-Z0-9-]+)</code></li>", shown)
    assert len(codes) == 10
    assert re.findall(r"<li><code>", citizen.http.get("/account/second-factor").get_data(as_text=True)) == []
    db.session.refresh(citizen.account)
    assert citizen.account.has_second_factor
    (sso,) = sessions_of(db, citizen.account)
    assert sso.acr == assurance.SUBSTANTIAL  # the citizen has just proven the authenticator


def test_enrolment_page_needs_a_signed_in_citizen(client):
    response = client.get("/account/second-factor")
    assert response.status_code == 303 and response.headers["Location"].startswith("/login")


# Step-up


def test_step_up_raises_the_session_and_the_id_token_says_substantial(citizen, agency, rt, db):
    secret, _codes = citizen.with_second_factor()
    citizen.signed_in_quickly()  # a password-only session: low
    location = page_location(agency.authorize(acr_values=assurance.SUBSTANTIAL), "second-factor")
    response = citizen.second_step(totp.code_at(secret, rt.now()), page_url=location)
    assert response.status_code == 303 and response.headers["Location"] == resume_of(location)
    response = agency.follow(response)
    if response.status_code == 200 and b'name="decision"' in response.data:
        response = agency.follow(agency.consent(response))
    tokens = agency.exchange(agency.code_from(response)).get_json()
    claims = decode(rt, tokens["id_token"])
    assert claims["acr"] == assurance.SUBSTANTIAL
    assert claims["amr"] == ["pwd", "otp"]
    assert len(sessions_of(db, citizen.account)) == 1  # the same session, raised: no second sign-in


def test_essential_acr_claim_asks_for_the_code_too(citizen, agency):
    citizen.with_second_factor()
    citizen.signed_in_quickly()
    claims = json.dumps({"id_token": {"acr": {"essential": True, "values": [assurance.SUBSTANTIAL]}}})
    assert page_location(agency.authorize(claims=claims), "second-factor")


def test_a_citizen_without_a_second_factor_is_led_to_enrol(citizen, agency):
    citizen.signed_in_quickly()
    response = agency.visit(acr_values=assurance.SUBSTANTIAL)
    assert response.status_code == 200
    assert 'href="/account/second-factor?next=' in response.get_data(as_text=True)


def test_step_up_with_prompt_none_is_interaction_required(citizen, agency):
    citizen.with_second_factor()
    citizen.signed_in_quickly()
    response = agency.authorize(acr_values=assurance.SUBSTANTIAL, prompt="none")
    assert query_of(response.headers["Location"])["error"] == "interaction_required"


def test_recovery_codes_cross_the_redirect_sealed_not_in_the_cookie_in_clear(citizen, rt, app):
    citizen.signed_in_quickly()
    html = citizen.http.get("/account/second-factor").get_data(as_text=True)
    secret = re.search(r'<code id="secret">([A-Z2-7]+)</code>', html).group(1)
    citizen.http.post("/account/second-factor", data={"csrf_token": csrf_of(html), "code": totp.code_at(secret, rt.now())})
    cookie = citizen.http.get_cookie(app.config.get("SESSION_COOKIE_NAME", "session"))
    carried = str(app.session_interface.get_signing_serializer(app).loads(cookie.value))
    shown = re.findall(r"<li><code>([A-Z0-9-]+)</code></li>", citizen.http.get("/account/second-factor").get_data(as_text=True))
    assert len(shown) == 10
    assert not any(code in carried or code.replace("-", "") in carried for code in shown)


def test_enrolling_from_the_fix_page_resumes_the_authorization_at_substantial(citizen, agency, rt):
    citizen.signed_in_quickly()
    fix = agency.visit(acr_values=assurance.SUBSTANTIAL).get_data(as_text=True)
    enrol_url = re.search(r'href="(/account/second-factor\?next=[^"]+)"', fix).group(1).replace("&amp;", "&")
    html = citizen.http.get(enrol_url).get_data(as_text=True)
    secret = re.search(r'<code id="secret">([A-Z2-7]+)</code>', html).group(1)
    resume = query_of(enrol_url)["next"]
    done = citizen.http.post(
        "/account/second-factor",
        data={"csrf_token": csrf_of(html), "code": totp.code_at(secret, rt.now()), "next": resume},
    )
    page = citizen.http.get(done.headers["Location"]).get_data(as_text=True)
    assert f'class="button primary" href="{resume}"' in page  # "Continue to the agency"
    response = agency.follow(citizen.http.get(resume))
    if response.status_code == 200 and b'name="decision"' in response.data:
        response = agency.follow(agency.consent(response))
    claims = decode(rt, agency.exchange(agency.code_from(response)).get_json()["id_token"])
    assert claims["acr"] == assurance.SUBSTANTIAL and claims["amr"] == ["pwd", "otp"]


# Re-authentication rotates the session; the password step is single use (issue 13 suspicions)


def session_secret(http, rt) -> str | None:
    cookie = http.get_cookie(rt.settings.session_cookie_name)
    return cookie.value if cookie is not None else None


def test_step_up_continues_the_session_under_a_new_cookie_secret(citizen, rt, db):
    """ASVS 5.0 V7.2.4: a new session token at re-authentication. The old one signs nobody in."""
    secret, _codes = citizen.with_second_factor()
    citizen.signed_in_quickly()
    before = session_secret(citizen.http, rt)
    citizen.second_step(totp.code_at(secret, rt.now()))
    after = session_secret(citizen.http, rt)
    assert after and after != before and is_signed_in(citizen.http)
    stale = type(citizen.http)(citizen.http.application)
    stale.set_cookie(rt.settings.session_cookie_name, before, domain="localhost")
    assert not is_signed_in(stale)
    assert len(sessions_of(db, citizen.account)) == 1  # the same session (sid) continues


def test_a_password_change_continues_the_session_under_a_new_cookie_secret(citizen, rt):
    citizen.signed_in_quickly()
    before = session_secret(citizen.http, rt)
    page = citizen.http.get("/account/password").get_data(as_text=True)
    new = "tavaszi szél vizet áraszt 2026"
    response = citizen.http.post("/account/password", data={
        "csrf_token": csrf_of(page), "current_password": citizen.password, "new_password": new, "confirm_password": new,
    })
    assert response.status_code == 303
    after = session_secret(citizen.http, rt)
    assert after and after != before and is_signed_in(citizen.http)
    stale = type(citizen.http)(citizen.http.application)
    stale.set_cookie(rt.settings.session_cookie_name, before, domain="localhost")
    assert not is_signed_in(stale)


def test_the_password_step_cannot_be_replayed_after_the_second_step(citizen, rt):
    """A copy of the browser's cookies taken between the password and the code signs nobody in
    once the second step is done, even with a fresh code."""
    secret, _codes = citizen.with_second_factor()
    citizen.sign_in()
    copied = citizen.http.get_cookie("idp_form").value
    citizen.second_step(totp.code_at(secret, rt.now()))
    assert is_signed_in(citizen.http)
    rt.clock.advance(seconds=30)
    thief = type(citizen.http)(citizen.http.application)
    thief.set_cookie("idp_form", copied, domain="localhost")
    page = thief.get("/login/second-factor")
    assert page.status_code == 303 and page.headers["Location"].startswith("/login")
    assert not is_signed_in(thief)
