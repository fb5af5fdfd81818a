"""Ügyfélkapu+ in a real browser (Debian's Chromium through Playwright) against the provider on a
real port: enrolment, sign-in with an authenticator code, a code used twice, a recovery code,
step-up for an agency asking for ``substantial``, and sign-in with an emailed code.

The agency is a third-party client library: Authlib's ``OAuth2Session`` builds the request and
exchanges the code, and PyJWT checks the ID token's signature against ``/jwks.json``. Its
redirect URI is answered inside the browser (nothing listens there), so the test reads the
callback from the browser's address bar. Authenticator codes come from pyotp at the provider's
clock, so the steps are exactly the ones the test means.
"""

from __future__ import annotations


import pyotp
import pytest

from idp.extensions import db
from idp.sessions import service as sessions

from ..support import browser as bw
from ..support.factories import PASSWORD, make_account
from ..support.flows import Citizen
from ..support.relying_party import RelyingParty

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(bw.skip_reason() is not None, reason=bw.skip_reason() or ""),
]

SUBSTANTIAL = "http://eidas.europa.eu/LoA/substantial"
CODE = "#code"
SUBMIT = "main form.card button[type=submit]"


@pytest.fixture
def site(live):
    base, app = live
    rt = app.extensions["idp"]
    citizen = Citizen(None, rt, make_account(rt))
    return base, rt, citizen, RelyingParty(base, rt, consented_by=citizen.account)


@pytest.fixture
def page(chromium, request, site):
    """A fresh browser (one citizen's) in English; the agency's callback answered in the browser."""
    agency = site[3]
    with bw.fresh_page(chromium, request, locale="en-GB") as page:
        agency.answer_callbacks(page.context)
        yield page


def with_authenticator(citizen, clock) -> tuple[str, list[str]]:
    """Ügyfélkapu+ on, its first code half a minute ago (the helper moves the clock on by one
    step: back to the wall clock, which the client library checks the ID token's iat by)."""
    clock.advance(seconds=-30)
    return citizen.with_second_factor()


def password_step(page, base: str, citizen) -> None:
    page.goto(f"{base}/login")
    page.fill("input[autocomplete=username]", citizen.account.username)
    page.fill("input[autocomplete=current-password]", PASSWORD)
    page.locator(SUBMIT).click()
    page.wait_for_url(f"{base}/login/second-factor**")


def type_code(page, code: str) -> None:
    page.fill(CODE, code)
    page.locator(SUBMIT).click()


def back_at_the_agency(page, agency) -> str:
    page.wait_for_url(lambda url: url.startswith(agency.redirect_uri))
    return page.url


def signed_out_again(page, base: str) -> None:
    page.goto(f"{base}/")
    page.locator("form[action='/logout'] button").click()
    page.wait_for_url(f"{base}/signed-out")


def test_enrolment_reads_the_key_confirms_a_code_and_shows_recovery_codes(page, site, clock):
    base, _rt, citizen, _agency = site
    page.goto(f"{base}/login")
    page.fill("input[autocomplete=username]", citizen.account.username)
    page.fill("input[autocomplete=current-password]", PASSWORD)
    page.locator(SUBMIT).click()
    page.wait_for_url(f"{base}/")
    page.goto(f"{base}/account/second-factor")
    secret = page.locator("#secret").inner_text()
    assert page.locator("main img").evaluate("img => img.complete && img.naturalWidth > 0")  # the QR code shows
    bw.step(page, "second-factor-choice")
    page.fill(CODE, pyotp.TOTP(secret).at(clock.now()))
    page.locator("form[action='/account/second-factor'] button[type=submit]").click()
    page.locator(".recovery-codes").wait_for()
    bw.step(page, "second-factor-recovery-codes")
    assert page.locator(".recovery-codes li").count() == 10
    assert "authenticator app" in page.locator("#method").inner_text()


def test_sign_in_with_an_authenticator_code_via_an_agency(page, site, clock):
    base, _rt, citizen, agency = site
    secret, _codes = with_authenticator(citizen, clock)
    page.goto(agency.authorization_url())
    page.locator("input[autocomplete=username]").wait_for()
    page.fill("input[autocomplete=username]", citizen.account.username)
    page.fill("input[autocomplete=current-password]", PASSWORD)
    page.locator(SUBMIT).click()
    bw.at(page, bw.interaction_page(base, "second-factor"))
    assert agency.client.name in page.locator(".agency").inner_text()
    type_code(page, pyotp.TOTP(secret).at(clock.now()))
    claims = agency.id_token(back_at_the_agency(page, agency))
    assert claims["amr"] == ["pwd", "otp"] and claims["acr"] == SUBSTANTIAL


def test_the_same_authenticator_code_is_refused_the_second_time(page, site, clock):
    base, _rt, citizen, _agency = site
    secret, _codes = with_authenticator(citizen, clock)
    code = pyotp.TOTP(secret).at(clock.now())
    password_step(page, base, citizen)
    type_code(page, code)
    page.wait_for_url(f"{base}/")
    signed_out_again(page, base)
    password_step(page, base, citizen)
    type_code(page, code)  # the same time step
    alert = page.locator(".flash-error")
    alert.wait_for()
    assert alert.inner_text() == "The code is not correct, or it has already been used."
    assert page.locator(CODE).get_attribute("aria-invalid") == "true"
    assert page.url.startswith(f"{base}/login/second-factor")


def test_a_recovery_code_signs_in_once(page, site, clock):
    base, _rt, citizen, _agency = site
    _secret, codes = with_authenticator(citizen, clock)
    password_step(page, base, citizen)
    type_code(page, codes[0])
    page.wait_for_url(f"{base}/")
    signed_out_again(page, base)
    password_step(page, base, citizen)
    type_code(page, codes[0])
    page.locator(".flash-error").wait_for()
    assert page.url.startswith(f"{base}/login/second-factor")


def test_step_up_for_an_agency_asking_for_substantial_asks_only_for_a_code(page, site, clock):
    base, rt, citizen, agency = site
    secret, _codes = with_authenticator(citizen, clock)
    _sso, cookie = sessions.start(db.session, citizen.account, clock.now(), ["pwd"], "http://eidas.europa.eu/LoA/low")
    db.session.commit()  # signed in with the password alone
    page.context.add_cookies([{"name": rt.settings.session_cookie_name, "value": cookie, "url": base}])
    page.goto(agency.authorization_url(acr_values=SUBSTANTIAL))
    bw.at(page, bw.interaction_page(base, "second-factor"))
    assert page.locator("input[type=password]").count() == 0
    bw.step(page, "step-up")
    type_code(page, pyotp.TOTP(secret).at(clock.now()))
    claims = agency.id_token(back_at_the_agency(page, agency))
    assert claims["acr"] == SUBSTANTIAL
    assert {"pwd", "otp"} <= set(claims["amr"])


def test_sign_in_with_an_emailed_code(page, site, clock):
    base, _rt, citizen, agency = site
    citizen.with_email_factor()
    page.goto(agency.authorization_url())
    page.fill("input[autocomplete=username]", citizen.account.username)
    page.fill("input[autocomplete=current-password]", PASSWORD)
    page.locator(SUBMIT).click()
    bw.at(page, bw.interaction_page(base, "second-factor"))
    assert "valid for 10 minutes" in page.locator("#mailed").inner_text()
    bw.step(page, "email-code")
    type_code(page, citizen.emailed_code())
    claims = agency.id_token(back_at_the_agency(page, agency))
    assert claims["amr"] == ["pwd", "email"]
