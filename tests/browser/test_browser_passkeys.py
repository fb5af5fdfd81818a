"""Passkeys in a real browser: Debian's Chromium with its virtual authenticator (the DevTools
protocol's WebAuthn domain through Playwright's CDP session: a CTAP2 platform authenticator that
keeps discoverable credentials and verifies the user), against the provider on a real port.

The issuer is ``http://localhost:<port>``: WebAuthn needs a domain as the relying party ID, and
http://localhost is a secure context. Enrolment, the passkey as the second step after the
password, a step-up, a passwordless sign-in (with ``[passkeys] passwordless`` on), a removed
passkey refused, another origin refused, and ``acr``/``amr`` read from an ID token that a
third-party client (Authlib's ``OAuth2Session``, PyJWT against ``/jwks.json``) verified.
axe-core checks the new pages in both languages.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pyotp
import pytest

from idp.accounts import assurance
from idp.extensions import db
from idp.sessions import service as sessions

from ..support import browser as bw
from ..support.factories import PASSWORD, make_account
from ..support.flows import Citizen
from ..support.live import serving
from .test_accessibility import FAILING, axe_violations, describe
from ..support.relying_party import RelyingParty

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(bw.skip_reason() is not None, reason=bw.skip_reason() or ""),
]

SUBSTANTIAL = assurance.SUBSTANTIAL
PASSWORDLESS = pytest.mark.parametrize("live_settings", [{"passkeys": {"passwordless": True}}], ids=["passwordless"])


@pytest.fixture
def live_host() -> str:
    return "localhost"


@pytest.fixture
def site(live, clock):
    base, app = live
    rt = app.extensions["idp"]
    citizen = Citizen(None, rt, make_account(rt))
    clock.advance(seconds=-30)  # with_second_factor moves it back on: the wall clock, as the agency checks iat
    secret, codes = citizen.with_second_factor()
    return base, rt, citizen, RelyingParty(base, rt, consented_by=citizen.account), secret, codes


@pytest.fixture
def page(chromium, request, site):
    """One citizen's browser, in English, with a virtual authenticator; the agency's callback is
    served on its own port (the test reads the code from the address bar)."""
    port = urlsplit(site[3].redirect_uri).port
    with serving(_agency_page, port), bw.fresh_page(chromium, request, locale="en-GB") as page:
        cdp = page.context.new_cdp_session(page)
        cdp.send("WebAuthn.enable", {"enableUI": False})
        added = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
            "protocol": "ctap2", "transport": "internal", "hasResidentKey": True, "hasUserVerification": True,
            "isUserVerified": True, "automaticPresenceSimulation": True,
        }})
        page.authenticator = (cdp, added["authenticatorId"])
        yield page


def _agency_page(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
    return [b"<!doctype html><title>Agency</title>"]


def credentials(page) -> list[dict]:
    cdp, authenticator = page.authenticator
    return cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]


def signed_in_with(page, site, amr: list[str]) -> None:
    """A session straight from the service (the sign-in itself is tested elsewhere)."""
    base, rt, citizen = site[:3]
    _sso, cookie = sessions.start(db.session, citizen.account, rt.now(), amr, assurance.level_for(amr, rt.assurance))
    db.session.commit()
    page.context.add_cookies([{"name": rt.settings.session_cookie_name, "value": cookie, "url": base}])


def enrol(page, site, name: str = "Laptop", code: str | None = None) -> None:
    base, rt, _citizen, _agency, secret, _codes = site
    page.goto(f"{base}/account/second-factor")
    form = page.locator("form[action='/account/second-factor/passkeys']")
    form.wait_for()  # shown by passkeys.js: this browser has WebAuthn
    form.locator("#name").fill(name)
    form.locator("#current_password").fill(PASSWORD)
    form.locator("#code").fill(code or pyotp.TOTP(secret).at(rt.now()))
    form.locator("button[type=submit]").click()
    page.wait_for_url(f"{base}/account/second-factor/passkeys/new**")
    bw.step(page, "passkey-new")
    page.locator("form[data-passkey=create] button[type=submit]").click()
    page.wait_for_url(f"{base}/account/second-factor")
    page.locator(".flash-success").wait_for()


def password_step(page, username: str) -> None:
    page.locator("input[autocomplete=username]").wait_for()
    page.fill("input[autocomplete=username]", username)
    page.fill("input[autocomplete=current-password]", PASSWORD)
    page.locator("form[action*=login]:not([data-passkey]) button[type=submit]").click()


def use_passkey(page) -> None:
    page.locator("form[data-passkey=get] button[type=submit]").click()


def back_at_the_agency(page, agency) -> str:
    page.wait_for_url(lambda url: url.startswith(agency.redirect_uri))
    return page.url


def test_enrolment_then_the_passkey_as_the_second_step_for_an_agency(page, site):
    base, rt, citizen, agency, _secret, _codes = site
    signed_in_with(page, site, ["pwd", "otp"])
    enrol(page, site, "Work laptop")
    assert "Work laptop" in page.locator("ul.passkeys").inner_text()
    (made,) = credentials(page)
    assert made["rpId"] == "localhost" and made["isResidentCredential"]
    page.context.clear_cookies()
    page.goto(agency.authorization_url(acr_values=SUBSTANTIAL))
    password_step(page, citizen.account.username)
    bw.at(page, bw.interaction_page(base, "second-factor"))
    assert page.locator("#code").is_visible()  # the code stays beside the passkey
    bw.step(page, "passkey-second-step")
    use_passkey(page)
    claims = agency.id_token(back_at_the_agency(page, agency))
    assert claims["acr"] == SUBSTANTIAL
    assert claims["amr"] == ["pwd", "hwk", "user", "mfa"]
    assert credentials(page)[0]["signCount"] >= 1


def test_a_step_up_with_a_passkey(page, site):
    base, rt, _citizen, agency, _secret, _codes = site
    signed_in_with(page, site, ["pwd", "otp"])
    enrol(page, site)
    page.context.clear_cookies()
    signed_in_with(page, site, ["pwd"])  # the password alone: low
    page.goto(agency.authorization_url(acr_values=SUBSTANTIAL))
    bw.at(page, bw.interaction_page(base, "second-factor"))
    assert page.locator("input[type=password]").count() == 0
    use_passkey(page)
    claims = agency.id_token(back_at_the_agency(page, agency))
    assert claims["acr"] == SUBSTANTIAL
    assert {"pwd", "hwk", "user", "mfa"} <= set(claims["amr"])


@PASSWORDLESS
def test_a_passwordless_sign_in_and_a_removed_passkey_refused(page, site, live_settings):
    base, rt, _citizen, agency, _secret, codes = site
    signed_in_with(page, site, ["pwd", "otp"])
    enrol(page, site, "Phone")
    page.context.clear_cookies()
    page.goto(agency.authorization_url(acr_values=SUBSTANTIAL))
    page.locator("form[data-passkey=get]").wait_for()
    bw.step(page, "passkey-passwordless")
    use_passkey(page)
    claims = agency.id_token(back_at_the_agency(page, agency))
    assert claims["acr"] == SUBSTANTIAL and claims["amr"] == ["hwk", "user", "mfa"]

    page.goto(f"{base}/account/second-factor")
    page.get_by_role("link", name="Remove Phone").click()
    page.fill("#current_password", PASSWORD)
    page.fill("#code", codes[0])
    bw.step(page, "passkey-remove")
    page.locator("#confirm-remove-passkey").click()
    page.wait_for_url(f"{base}/account/second-factor")
    assert page.locator("#no-passkeys").is_visible()
    assert len(credentials(page)) == 1  # still on the device: only the provider forgot it

    page.context.clear_cookies()
    page.goto(f"{base}/login")
    use_passkey(page)
    refusal = page.locator(".flashes .flash-error")
    refusal.wait_for()
    assert "could not be used" in refusal.inner_text()
    assert page.url.startswith(f"{base}/login")
    page.goto(f"{base}/")
    assert page.locator("form[action='/logout']").count() == 0


def test_a_passkey_is_refused_on_another_origin(page, site):
    base, rt, citizen, _agency, _secret, _codes = site
    signed_in_with(page, site, ["pwd", "otp"])
    enrol(page, site)
    other = base.replace("localhost", "127.0.0.1")  # the same provider, under a name that is not its issuer
    page.goto(f"{other}/login")
    password_step(page, citizen.account.username)
    page.wait_for_url(f"{other}/login/second-factor**")
    use_passkey(page)
    message = page.locator("[data-passkey-message]")
    message.wait_for()
    assert "could not be used" in message.inner_text()
    page.goto(f"{other}/")
    assert page.locator("form[action='/logout']").count() == 0


@PASSWORDLESS
def test_the_passkey_pages_pass_axe_in_both_languages(page, site, live_settings):
    from axe_playwright_python.base import AXE_SCRIPT

    base, rt, citizen, _agency, _secret, codes = site
    signed_in_with(page, site, ["pwd", "otp"])
    enrol(page, site, "Laptop")
    from idp.accounts.passkey_records import Passkey

    passkey_id = db.session.query(Passkey.id).scalar()
    for lang in ("hu", "en"):
        page.goto(f"{base}/account/second-factor?lang={lang}")
        page.locator("ul.passkeys").wait_for()
        for url, shows in [
            (f"/account/second-factor?lang={lang}", "form[action='/account/second-factor/passkeys']"),
            (f"/account/second-factor/passkeys/{passkey_id}/remove?lang={lang}", "#confirm-remove-passkey"),
        ]:
            page.goto(base + url)
            page.locator(shows).wait_for()
            serious = [v for v in axe_violations(page, AXE_SCRIPT) if v["impact"] in FAILING]
            assert not serious, f"{url}:\n{describe(serious)}"
        # the key-making page, reached through its form
        page.goto(f"{base}/account/second-factor?lang={lang}")
        form = page.locator("form[action='/account/second-factor/passkeys']")
        form.locator("#name").fill("Second")
        form.locator("#current_password").fill(PASSWORD)
        form.locator("#code").fill(codes[1 if lang == "hu" else 2])
        form.locator("button[type=submit]").click()
        page.wait_for_url(f"{base}/account/second-factor/passkeys/new**")
        serious = [v for v in axe_violations(page, AXE_SCRIPT) if v["impact"] in FAILING]
        assert not serious, f"passkey-new ({lang}):\n{describe(serious)}"
        assert page.locator("html").get_attribute("lang") == lang
    page.context.clear_cookies()
    for lang in ("hu", "en"):
        page.goto(f"{base}/login?lang={lang}")
        page.locator("form[data-passkey=get]").wait_for()
        serious = [v for v in axe_violations(page, AXE_SCRIPT) if v["impact"] in FAILING]
        assert not serious, f"login with passkey ({lang}):\n{describe(serious)}"
        password_step(page, citizen.account.username)
        page.wait_for_url(f"{base}/login/second-factor**")
        page.locator("form[data-passkey=get]").wait_for()
        serious = [v for v in axe_violations(page, AXE_SCRIPT) if v["impact"] in FAILING]
        assert not serious, f"second step with passkey ({lang}):\n{describe(serious)}"
        page.context.clear_cookies()
