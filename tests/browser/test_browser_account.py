"""Issue 4 in a real browser (Debian's Chromium through Playwright): the citizen's account page,
withdrawing consent, signing out (with back-channel logout), signing out everywhere, and the language.

The provider runs on a real local port. The agencies are third-party clients (Authlib's
``OAuth2Session``: code flow with PKCE S256, nonce and state) whose redirect URIs point at a small
callback page served on another real port; the browser walks the provider's pages, the test reads
the ``code`` off the callback URL and the agency exchanges it. Tokens (ID and logout) are validated
with PyJWT, a JOSE library the provider does not use, against the published JWKS.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import jwt as pyjwt
import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from werkzeug.wrappers import Response

from idp.extensions import db

from ..support import browser as bw
from ..support.factories import PASSWORD, make_account, make_client
from ..support.live import free_port, serving
from ..support.receiver import logout_receiver

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(bw.skip_reason() is not None, reason=bw.skip_reason() or ""),
]

USERNAME = "input[autocomplete=username]"
PASSWORD_FIELD = "input[autocomplete=current-password]"
ALLOW = "button[name=decision][value=allow]"
LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
NAV = "Nemzeti Adó- és Vámhivatal"
EESZT = "Egészségügyi Szolgáltatási Tér"


# -- fixtures --------------------------------------------------------------------------------


def _agency_callback(environ, start_response):
    """The agencies' redirect URI: a plain page; the code is read off its URL."""
    page = "<!doctype html><html lang=en><title>Agency</title><h1 id=callback>Back at the agency</h1></html>"
    return Response(page, mimetype="text/html")(environ, start_response)


@dataclass
class Provider:
    base: str
    rt: object
    app: object
    meta: dict
    agencies: str  # the callback server's base URL

    def url(self, path: str) -> str:
        return f"{self.base}{path}"


@pytest.fixture
def provider(live):
    base, app = live
    meta = requests.get(f"{base}/.well-known/openid-configuration", timeout=5).json()
    assert meta["issuer"] == base and meta["jwks_uri"] == f"{base}/jwks.json"
    with serving(_agency_callback, free_port()) as agencies:
        yield Provider(base, app.extensions["idp"], app, meta, agencies)
    # Back-channel deliveries run in a background thread: let them finish before the tables go.
    app.extensions["idp"].logout.wait()


@pytest.fixture
def account(provider):
    return make_account(provider.rt)


# -- the third-party agency ------------------------------------------------------------------


@dataclass
class Agency:
    provider: Provider
    name: str
    client: object
    secret: str
    redirect_uri: str
    scope: str
    oauth: OAuth2Session | None = None
    verifier: str = ""
    nonce: str = ""
    state: str = ""
    token: dict = field(default_factory=dict)

    def authorization_url(self, **extra) -> str:
        """A fresh authorization request: PKCE S256, nonce and state, built by Authlib."""
        self.oauth = OAuth2Session(self.client.client_id, self.secret, scope=self.scope,
                                   redirect_uri=self.redirect_uri, code_challenge_method="S256")
        self.verifier = secrets.token_urlsafe(48)
        self.nonce = secrets.token_urlsafe(16)
        url, self.state = self.oauth.create_authorization_url(
            self.provider.meta["authorization_endpoint"], nonce=self.nonce, code_verifier=self.verifier, **extra,
        )
        assert "code_challenge_method=S256" in url
        return url

    def exchange(self, callback_url: str) -> dict:
        """The code from the callback, exchanged at the token endpoint; the ID token validated."""
        query = {k: v[0] for k, v in parse_qs(urlsplit(callback_url).query).items()}
        assert query["state"] == self.state and "code" in query, query
        self.token = self.oauth.fetch_token(
            self.provider.meta["token_endpoint"], authorization_response=callback_url,
            code_verifier=self.verifier, state=self.state,
        )
        claims = validated(self.provider, self.token["id_token"], self.client.client_id)
        assert claims["nonce"] == self.nonce
        return claims

    def userinfo(self) -> requests.Response:
        return self.oauth.get(self.provider.meta["userinfo_endpoint"])


def make_agency(provider: Provider, agency_name: str, path: str, scope: str, **client_args) -> Agency:
    redirect_uri = f"{provider.agencies}{path}"
    client, secret = make_client(provider.rt, redirect_uri=redirect_uri, **client_args)
    client.agency = agency_name
    db.session.commit()
    return Agency(provider, agency_name, client, secret, redirect_uri, scope)


def validated(provider: Provider, token: str, audience: str) -> dict:
    """Validate a JWT like an agency does, with PyJWT against the provider's ``/jwks.json``."""
    header = pyjwt.get_unverified_header(token)
    jwks = requests.get(provider.url("/jwks.json"), timeout=5).json()
    key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    return pyjwt.decode(token, pyjwt.PyJWK(key).key, algorithms=[header["alg"]], audience=audience,
                        issuer=provider.base)


# -- steps -----------------------------------------------------------------------------------


at = bw.at


def fill_sign_in(page, provider: Provider, account, agency_name: str | None = None) -> None:
    """The sign-in form: the agency's interaction's when ``agency_name`` is given, else the direct one."""
    at(page, bw.interaction_page(provider.base, "login") if agency_name else provider.url("/login"))
    if agency_name:
        assert agency_name in page.locator(".agency").inner_text()
    bw.step(page, "sign-in")
    page.fill(USERNAME, account.username)
    page.fill(PASSWORD_FIELD, PASSWORD)
    page.locator("main form.card button[type=submit]").click()


def allow(page, provider: Provider, agency: Agency) -> None:
    from playwright.sync_api import expect

    at(page, bw.interaction_page(provider.base, "consent"))
    expect(page.locator(ALLOW)).to_be_visible()
    expect(page.locator("main .agency")).to_contain_text(agency.name)
    assert page.locator(PASSWORD_FIELD).count() == 0
    bw.step(page, f"consent-{agency.client.client_id[:8]}")
    page.locator(ALLOW).click()


def back_at(page, agency: Agency) -> str:
    page.wait_for_url(lambda url: url.startswith(f"{agency.redirect_uri}?"))
    return page.url


def sign_in_at(page, account, agency: Agency, *, password: bool = True, consent: bool = True, **extra) -> dict:
    """The agency sends the browser to the provider; the citizen signs in and/or consents as asked;
    the agency exchanges the code. Returns the validated ID token claims."""
    page.goto(agency.authorization_url(**extra))
    if password:
        fill_sign_in(page, agency.provider, account, agency.name)
    if consent:
        allow(page, agency.provider, agency)
    return agency.exchange(back_at(page, agency))


def sign_in_directly(page, provider: Provider, account) -> None:
    page.goto(provider.url("/login"))
    fill_sign_in(page, provider, account)
    page.wait_for_url(provider.url("/"))


def two_agencies_signed_in(page, provider: Provider, account):
    nav = make_agency(provider, NAV, "/nav/callback", "openid profile", name="NAV online")
    eeszt = make_agency(provider, EESZT, "/eeszt/callback", "openid email", name="EESZT")
    nav_claims = sign_in_at(page, account, nav)
    with bw.watch(page, bw.interaction_page(provider.base, "login")) as login_pages:
        eeszt_claims = sign_in_at(page, account, eeszt, password=False)  # single sign-on, consent only
    assert login_pages == []
    assert nav_claims["sid"] == eeszt_claims["sid"]
    return nav, eeszt, nav_claims


# -- tests -----------------------------------------------------------------------------------


def test_account_page_lists_this_device_both_agencies_and_the_access_history(browsers, provider, account):
    from playwright.sync_api import expect

    page = browsers()
    nav, eeszt, claims = two_agencies_signed_in(page, provider, account)
    info = eeszt.userinfo()
    assert info.status_code == 200 and info.json()["email"] == account.email

    page.goto(provider.url("/account?lang=en"))
    bw.step(page, "account")
    sessions = page.locator("#session-list li[data-sid]")
    expect(sessions).to_have_count(1)
    assert sessions.get_attribute("data-sid") == claims["sid"]
    expect(sessions).to_contain_text("This device")
    expect(sessions).to_contain_text("Chrome")  # the device as people name it, from the User-Agent

    agencies = page.locator("#agency-list li[data-client]")
    expect(agencies).to_have_count(2)
    nav_item = page.locator(f'#agency-list li[data-client="{nav.client.client_id}"]')
    eeszt_item = page.locator(f'#agency-list li[data-client="{eeszt.client.client_id}"]')
    expect(nav_item).to_contain_text(NAV)
    expect(nav_item).to_contain_text("Name and date of birth")
    expect(nav_item).not_to_contain_text("Email address")
    expect(eeszt_item).to_contain_text(EESZT)
    expect(eeszt_item).to_contain_text("Email address")
    expect(eeszt_item).not_to_contain_text("Name and date of birth")
    expect(nav_item.locator("button[type=submit]")).to_contain_text(f"Withdraw from {NAV}")

    history = page.locator("#history-list li")
    nav_history = history.filter(has_text=NAV)
    eeszt_history = history.filter(has_text=EESZT)
    expect(nav_history).to_have_count(1)
    expect(nav_history).to_contain_text("at sign-in")
    expect(eeszt_history).to_have_count(2)
    expect(eeszt_history.filter(has_text="at sign-in")).to_have_count(1)
    asked = eeszt_history.filter(has_text="asked for afterwards")
    expect(asked).to_have_count(1)
    expect(asked).to_contain_text("Email address")
    page.locator("#history").scroll_into_view_if_needed()
    bw.step(page, "account-history")


def test_withdrawing_consent_on_the_page_revokes_the_token_and_the_agency_asks_again(browsers, provider, account):
    from playwright.sync_api import expect

    page = browsers()
    nav, eeszt, _ = two_agencies_signed_in(page, provider, account)
    assert nav.userinfo().status_code == 200

    page.goto(provider.url("/account?lang=en"))
    withdraw = page.locator(f'#agency-list li[data-client="{nav.client.client_id}"] button[type=submit]')
    with page.expect_navigation():
        withdraw.click()
    at(page, provider.url("/account"))
    bw.step(page, "withdrawn")
    expect(page.locator(".flash-success")).to_contain_text(NAV)
    expect(page.locator(f'#agency-list li[data-client="{nav.client.client_id}"]')).to_have_count(0)
    expect(page.locator(f'#agency-list li[data-client="{eeszt.client.client_id}"]')).to_have_count(1)

    assert nav.userinfo().status_code == 401  # its access token died with the consent
    assert eeszt.userinfo().status_code == 200  # the other agency's did not

    # The next request from the withdrawn agency asks again (the session lives: no password).
    with bw.watch(page, bw.interaction_page(provider.base, "login")) as login_pages:
        again = sign_in_at(page, account, nav, password=False, consent=True)
    assert login_pages == [] and again["sub"]
    # The other agency still signs the citizen in without asking.
    with bw.watch(page, provider.url("/authorize")) as authorize:
        page.goto(eeszt.authorization_url())
        eeszt.exchange(back_at(page, eeszt))
    assert authorize and all(300 <= status < 400 for _m, _u, status in authorize), authorize


def test_signing_out_sends_the_agency_a_valid_back_channel_logout_token(browsers, provider, account):
    page = browsers()
    with logout_receiver() as receiver:
        agency = make_agency(provider, NAV, "/nav/callback", "openid profile", backchannel_logout_uri=receiver.url)
        claims = sign_in_at(page, account, agency)
        assert receiver.received == []

        page.goto(provider.url("/"))
        bw.step(page, "home-signed-in")
        with page.expect_navigation():
            page.locator("main form[action$='/logout'] button[type=submit]").click()
        page.wait_for_url(provider.url("/signed-out"))
        [token] = receiver.wait(1)  # delivered from a background thread
        provider.rt.logout.wait()

    [post] = receiver.received
    assert post["method"] == "POST" and post["content_type"] == "application/x-www-form-urlencoded"
    header = pyjwt.get_unverified_header(token)
    assert header["typ"] == "logout+jwt"
    logout = validated(provider, token, agency.client.client_id)
    assert logout["iss"] == provider.base and logout["aud"] == agency.client.client_id
    assert logout["sid"] == claims["sid"] and logout["sub"] == claims["sub"]
    assert logout["events"] == {LOGOUT_EVENT: {}}
    assert logout["jti"]
    assert "nonce" not in logout
    # ... and the provider's session is over: the account page wants a sign-in.
    page.goto(provider.url("/account"))
    at(page, provider.url("/login"))


def test_sign_out_everywhere_signs_out_the_other_browser_too(browsers, provider, account):
    from playwright.sync_api import expect

    here, there = browsers(), browsers()
    sign_in_directly(there, provider, account)
    sign_in_directly(here, provider, account)

    here.goto(provider.url("/account"))
    expect(here.locator("#session-list li[data-sid]")).to_have_count(2)
    expect(here.locator("#session-list li[data-sid] .badge")).to_have_count(1)  # "this device": one of them
    bw.step(here, "two-sessions")
    with here.expect_navigation():
        here.locator("#sign-out-everywhere").click()
    here.wait_for_url(provider.url("/account/sessions/end-all"))  # it asks first, as a warning
    assert "warning" in here.locator("#confirm-sign-out-everywhere").get_attribute("class")
    with here.expect_navigation():
        here.locator("#confirm-sign-out-everywhere").click()
    here.wait_for_url(provider.url("/signed-out"))

    for page in (here, there):
        page.goto(provider.url("/account"))
        at(page, provider.url("/login"))
        expect(page.locator(PASSWORD_FIELD)).to_be_visible()
    bw.step(there, "other-browser-signed-out")


def test_hungarian_first_english_by_the_switch_and_by_ui_locales(browsers, provider, account):
    from flask_babel import force_locale, gettext
    from playwright.sync_api import expect

    with provider.app.test_request_context(), force_locale("hu"):
        hu_heading = str(gettext("Your account"))
    assert hu_heading != "Your account", "the account page's heading has no Hungarian translation"

    page = browsers()
    sign_in_directly(page, provider, account)
    page.goto(provider.url("/account"))
    expect(page.locator("html")).to_have_attribute("lang", "hu")
    expect(page.locator("main h1")).to_have_text(hu_heading)
    bw.step(page, "account-hu")

    with page.expect_navigation():
        page.locator("header nav.lang a[hreflang=en]").click()
    assert "lang=en" in page.url
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("main h1")).to_have_text("Your account")
    expect(page.locator("#history")).to_have_text("Access history")
    bw.step(page, "account-en")
    # Remembered: the next pages, without ?lang=, stay English.
    page.goto(provider.url("/"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("main h1")).to_contain_text("Welcome")
    page.goto(provider.url("/account"))
    expect(page.locator("main h1")).to_have_text("Your account")

    # An agency asks for English (ui_locales) in a fresh Hungarian browser: the sign-in page is English.
    agency = make_agency(provider, NAV, "/nav/callback", "openid profile")
    fresh = browsers()
    fresh.goto(agency.authorization_url())
    at(fresh, bw.interaction_page(provider.base, "login"))
    expect(fresh.locator("html")).to_have_attribute("lang", "hu")
    fresh.goto(agency.authorization_url(ui_locales="en"))
    at(fresh, bw.interaction_page(provider.base, "login"))
    expect(fresh.locator("html")).to_have_attribute("lang", "en")
    expect(fresh.locator("main h1")).to_have_text("Sign in to Ügyfélkapu")
    expect(fresh.locator("label[for=username]")).to_have_text("Username")
    expect(fresh.locator("main .agency")).to_contain_text(NAV)
    bw.step(fresh, "sign-in-ui-locales-en")
