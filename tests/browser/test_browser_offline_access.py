"""Offline access in a real browser (Debian's Chromium through Playwright; issue 12, "Decide when
an agency may reach their data while they are away"; OpenID Connect Core §11).

- An agency allowed ``offline_access`` that asks for it with ``prompt=consent`` gets a refresh
  token only when the citizen ticks the sentence on the consent page; the refresh grant then works.
- Without ``prompt=consent``, for an agency not allowed it, or with the box left unticked: no
  refresh token.
- On ``/account`` the agency is listed as holding it; withdrawing it there revokes the whole token
  family at once: the refresh tokens are refused ``invalid_grant`` and the access tokens issued
  with them stop working at userinfo.

The agency is a third-party client (tests/support/relying_party.py: Authlib's ``OAuth2Session``,
PKCE S256, the ID token checked by PyJWT); the provider sends its mail to a real SMTP server
(tests/support/smtp.py). The expected sentences come from the catalogue in each language, so a
rewording of the Hungarian texts does not break the test, but a missing translation does.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from authlib.integrations.base_client.errors import OAuthError

from idp.extensions import db

from ..support import browser as bw
from ..support.factories import PASSWORD, make_account
from ..support.relying_party import RelyingParty

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(bw.skip_reason() is not None, reason=bw.skip_reason() or ""),
]

OFFLINE = "openid profile offline_access"
AGENCY = "Demo Adóhivatal"
SUBMIT = "main form.card button[type=submit]"
ALLOW = "button[name=decision][value=allow]"
LANGS = ("hu", "en")


@pytest.fixture
def live_settings(smtp):
    """The live provider (tests/conftest.py ``live``) mails through the SMTP server."""
    return {"mail": smtp.provider_mail()}


@dataclass
class Site:
    base: str
    app: object
    account: object
    agencies: str  # the agency's own website


@pytest.fixture
def site(live, agency_site):
    base, app = live
    return Site(base, app, make_account(app.extensions["idp"]), agency_site)


def agency_of(site, *, allowed: bool = True) -> RelyingParty:
    """An agency the citizen has not allowed yet; ``allowed``: the operator allowed it offline access."""
    agency = RelyingParty(site.base, site.app.extensions["idp"], scope=OFFLINE, refresh=allowed, site=site.agencies)
    agency.client.agency = AGENCY
    db.session.commit()
    return agency


def to_consent(page, site, agency: RelyingParty, lang: str, **params) -> None:
    """The agency sends the browser to the provider; the citizen signs in on the real form and
    arrives at the consent page, in ``lang`` (the agency's ``ui_locales``)."""
    page.goto(agency.authorization_url(ui_locales=lang, **params))
    bw.at(page, bw.interaction_page(site.base, "login"))
    page.fill("input[autocomplete=username]", site.account.username)
    page.fill("input[autocomplete=current-password]", PASSWORD)
    page.locator(SUBMIT).click()
    bw.at(page, bw.interaction_page(site.base, "consent"))
    assert page.locator("html").get_attribute("lang") == lang
    bw.step(page, f"consent-{lang}")


def allow(page, agency: RelyingParty) -> dict:
    """The citizen presses Allow; the agency exchanges the code. Returns the token response."""
    page.locator(ALLOW).click()
    bw.at(page, agency.redirect_uri)
    return agency.exchange(page.url)


def with_offline_access(page, site, agency: RelyingParty, lang: str) -> dict:
    """Asked with ``prompt=consent``, the citizen ticks offline access by its sentence and allows."""
    from playwright.sync_api import expect

    to_consent(page, site, agency, lang, prompt="consent")
    sentence = bw.words(site.app, lang, "%(agency)s may read my data while I am not signed in, until I withdraw "
                                          "it on my account page.", agency=AGENCY)
    box = page.get_by_label(sentence)  # the sentence is the checkbox's own label
    expect(box).to_be_visible()
    expect(box).not_to_be_checked()  # never ticked for the citizen
    legend = bw.words(site.app, lang, "Also while you are not signed in?")
    expect(page.locator("#offline-access legend")).to_have_text(legend)
    box.check()
    return allow(page, agency)


@pytest.mark.parametrize("lang", LANGS)
def test_asked_with_prompt_consent_and_ticked_the_agency_gets_a_refresh_token_that_works(
    browsers, site, smtp, lang
):
    agency = agency_of(site)
    page = browsers()
    tokens = with_offline_access(page, site, agency, lang)

    assert tokens.get("refresh_token"), tokens
    assert "offline_access" in tokens["scope"].split()
    refreshed = agency.refresh(tokens["refresh_token"])
    assert refreshed["refresh_token"] != tokens["refresh_token"]  # rotated
    assert refreshed["access_token"] != tokens["access_token"]
    info = agency.userinfo(refreshed["access_token"])
    assert info.status_code == 200 and info.json()["family_name"] == site.account.family_name
    # The citizen was told of the sign-in from a new browser, through the SMTP server; no token in it.
    notice = smtp.wait_for(to=site.account.email)
    for token in (tokens["refresh_token"], tokens["access_token"], refreshed["refresh_token"]):
        assert token not in notice.text()


CASES = {
    # OIDC Core §11: offline_access without prompt=consent is ignored; the citizen is not asked.
    "without_prompt_consent": ({}, True, False),
    # The operator has not allowed the agency offline access: the page does not ask.
    "agency_not_allowed": ({"prompt": "consent"}, False, False),
    # Asked, and the citizen leaves the box unticked.
    "citizen_leaves_it_unticked": ({"prompt": "consent"}, True, True),
}


@pytest.mark.parametrize("case", list(CASES))
def test_no_refresh_token_unless_allowed_asked_with_prompt_consent_and_ticked(browsers, site, case):
    from playwright.sync_api import expect

    params, allowed, asked = CASES[case]
    agency = agency_of(site, allowed=allowed)
    page = browsers()
    to_consent(page, site, agency, "en", **params)
    expect(page.locator("input#offline")).to_have_count(1 if asked else 0)
    tokens = allow(page, agency)

    assert "refresh_token" not in tokens, tokens
    assert "offline_access" not in tokens["scope"].split()
    assert agency.userinfo(tokens["access_token"]).status_code == 200  # the sign-in itself worked


@pytest.mark.parametrize("lang", LANGS)
def test_withdrawn_on_the_account_page_the_whole_token_family_stops_at_once(browsers, site, lang):
    from playwright.sync_api import expect

    agency = agency_of(site)
    page = browsers()
    first = with_offline_access(page, site, agency, lang)
    second = agency.refresh(first["refresh_token"])
    assert agency.userinfo(second["access_token"]).status_code == 200

    page.goto(f"{site.base}/account?lang={lang}")
    item = page.locator(f'#agency-list li[data-client="{agency.client.client_id}"]')
    expect(item).to_contain_text(AGENCY)
    expect(item.locator(".offline-held")).to_contain_text(
        bw.words(site.app, lang, "it may read your data while you are not signed in, until you withdraw it."))
    bw.step(page, f"account-offline-{lang}")
    withdraw = item.get_by_role("button", name=bw.words(site.app, lang, "End access while I am away"))
    with page.expect_navigation():
        withdraw.click()
    bw.at(page, f"{site.base}/account")
    bw.step(page, f"account-offline-withdrawn-{lang}")
    expect(page.locator(".flash-success")).to_contain_text(
        bw.words(site.app, lang, "%(agency)s can no longer read your data while you are not signed in. It still receives "
                         "what you allowed when you sign in there.", agency=AGENCY))
    # What the citizen allowed at sign-in stays; only the access while away is gone.
    expect(item).to_have_count(1)
    expect(item.locator(".offline-held")).to_have_count(0)
    expect(item.locator(".offline-withdraw")).to_have_count(0)

    # The family is revoked at once, by the withdrawal itself: the access tokens issued with it stop
    # (looked at first: a refused refresh grant would revoke the family too), and every refresh token.
    for access_token in (second["access_token"], first["access_token"]):
        assert agency.userinfo(access_token).status_code == 401
    for refresh_token in (second["refresh_token"], first["refresh_token"]):
        with pytest.raises(OAuthError) as refused:
            agency.refresh(refresh_token)
        assert refused.value.error == "invalid_grant"

    # The agency still signs the citizen in without asking (the session lives), with no refresh token.
    page.goto(agency.authorization_url())
    bw.at(page, agency.redirect_uri)
    again = agency.exchange(page.url)
    assert "refresh_token" not in again
    assert agency.userinfo(again["access_token"]).status_code == 200
