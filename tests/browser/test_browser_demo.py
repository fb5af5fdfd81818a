"""The demo flow in a real browser: Debian's Chromium driven by Playwright.

The provider and both demo agencies (Authlib's Flask client, a third-party OIDC
client) are served on real local ports and seeded exactly as ``idp demo`` does.
One browser context stands for one citizen's browser (one cookie jar).
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass

import pytest

from idp.demo.agency import create_agency_app
from idp.demo.seed import AGENCIES, DEMO_PASSWORD, DEMO_USERNAME, seed

from ..support import browser as bw
from ..support.live import free_port, serving

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(bw.skip_reason() is not None, reason=bw.skip_reason() or ""),
]

USERNAME = "input[autocomplete=username]"
PASSWORD = "input[autocomplete=current-password]"
ALLOW = "button[name=decision][value=allow]"


@dataclass
class Demo:
    provider: str
    agency1: str
    agency2: str
    name1: str
    name2: str


@pytest.fixture
def demo(live):
    """The provider, seeded as ``idp demo`` seeds it, and both demo agencies on free ports."""
    base, app = live
    rt = app.extensions["idp"]
    agency_base = {key: f"http://127.0.0.1:{free_port()}" for key, _n, _c in AGENCIES}
    store: dict = {}
    seed(rt, store, agency_base)
    with ExitStack() as stack:
        for key, name, color in AGENCIES:
            creds = store["clients"][key]
            agency = create_agency_app(
                title=name, color=color, issuer=base, client_id=creds["client_id"],
                client_secret=creds["client_secret"], base_url=agency_base[key], cookie=f"{key}_session",
            )
            stack.enter_context(serving(agency, int(agency_base[key].rsplit(":", 1)[1])))
        yield Demo(base, agency_base["agency1"], agency_base["agency2"], AGENCIES[0][1], AGENCIES[1][1])


@pytest.fixture
def page(chromium, request):
    """A fresh context (one citizen's browser); on failure its console and every page are shown."""
    with bw.fresh_page(chromium, request, locale="hu-HU") as page:
        console: list[str] = []
        page.on("console", lambda msg: console.append(f"{msg.type}: {msg.text}"))
        failed_before = request.session.testsfailed
        yield page
        if request.session.testsfailed > failed_before:
            for line in console:
                print(f"console {line}")


# --- steps -------------------------------------------------------------------


at = bw.at


def sign_in_form(page, demo: Demo, agency_name: str) -> None:
    """The provider's sign-in page, for the agency: fill it by the autocomplete tokens and submit."""
    at(page, bw.interaction_page(demo.provider, "login"))
    assert agency_name in page.locator(".agency").inner_text()
    bw.step(page, "login")
    page.fill(USERNAME, DEMO_USERNAME)
    page.fill(PASSWORD, DEMO_PASSWORD)
    page.locator("form.card button[type=submit]").click()


def consent(page, demo: Demo, agency_name: str) -> None:
    at(page, bw.interaction_page(demo.provider, "consent"))
    page.locator(ALLOW).wait_for()
    assert agency_name in page.locator("main").inner_text()
    assert page.locator(PASSWORD).count() == 0
    bw.step(page, f"consent-{agency_name}")
    page.locator(ALLOW).click()


def signed_in_at(page, agency_url: str) -> dict:
    """Back at the agency's home page, signed in: the claims its client library validated."""
    at(page, f"{agency_url}/")
    page.locator("#id-token-claims").wait_for()
    bw.step(page, f"agency-{agency_url.rsplit(':', 1)[1]}")
    return bw.json_text(page, "#id-token-claims")


def sign_in_at_agency1(page, demo: Demo) -> dict:
    page.goto(f"{demo.agency1}/")
    page.click("#login")
    sign_in_form(page, demo, demo.name1)
    consent(page, demo, demo.name1)
    return signed_in_at(page, demo.agency1)


# --- tests -------------------------------------------------------------------


def test_demo_flow_sign_in_single_sign_on_and_sign_out(page, demo):
    # Agency 1: the citizen signs in with a password and consents.
    claims1 = sign_in_at_agency1(page, demo)
    assert "Kovács" in page.locator("#who").inner_text()
    for claim in ("sub", "acr", "amr", "family_name", "sid", "auth_time"):
        assert claim in claims1, claim
    assert claims1["family_name"] == "Kovács"
    assert claims1["amr"] == ["pwd"]
    userinfo1 = bw.json_text(page, "#userinfo")
    assert userinfo1["sub"] == claims1["sub"]
    assert userinfo1["family_name"] == "Kovács"

    # Agency 2: consent for the new agency, but no password prompt (single sign-on).
    with bw.watch(page, bw.interaction_page(demo.provider, "login")) as login_pages:
        page.goto(f"{demo.agency2}/")
        page.click("#login")
        consent(page, demo, demo.name2)
        claims2 = signed_in_at(page, demo.agency2)
    assert login_pages == [], "single sign-on must not show the sign-in page"
    assert claims2["sid"] == claims1["sid"]
    assert claims2["auth_time"] == claims1["auth_time"]
    assert claims2["aud"] != claims1["aud"]
    # sub is pairwise per sector (the redirect URI's host): both agencies are on 127.0.0.1, one sector.
    assert claims2["sub"] == claims1["sub"]

    # Sign out at agency 2: the id_token_hint is genuine, so no confirmation page.
    with bw.watch(page, f"{demo.provider}/end-session") as logout:
        page.click("#logout")
        at(page, f"{demo.agency2}/")
        page.locator("#login").wait_for()
    assert logout and all(300 <= status < 400 for _m, _u, status in logout), logout
    assert page.locator("#id-token-claims").count() == 0

    # The provider's session is over, and back-channel logout told agency 1 too: it validated the
    # logout token and ended its own session for that sid (delivered from a background thread, so
    # the page is reloaded until it has arrived). Agency 1's sign-in asks for the password again.
    agency_session_ended(page, demo.agency1)
    page.click("#login")
    sign_in_form(page, demo, demo.name1)
    # Consent is remembered: straight back to agency 1, with a new provider session.
    claims3 = signed_in_at(page, demo.agency1)
    assert claims3["sub"] == claims1["sub"]
    assert claims3["sid"] != claims1["sid"]


def test_sign_in_form_by_keyboard_only_with_visible_focus(page, demo):
    page.goto(f"{demo.agency1}/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "login"
    page.keyboard.press("Enter")
    at(page, bw.interaction_page(demo.provider, "login"))

    # The first Tab stop is the skip link; the username field is reached within a few more.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.classList.contains('skip')")
    for _ in range(8):
        if page.evaluate("document.activeElement.getAttribute('autocomplete')") == "username":
            break
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('autocomplete')") == "username"
    assert_focus_visible(page)
    bw.step(page, "keyboard-focus-username")
    page.keyboard.type(DEMO_USERNAME)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('autocomplete')") == "current-password"
    assert_focus_visible(page)
    page.keyboard.type(DEMO_PASSWORD)
    page.keyboard.press("Enter")

    # Consent by keyboard too: Tab to "Allow", Enter.
    at(page, bw.interaction_page(demo.provider, "consent"))
    page.locator(ALLOW).wait_for()
    for _ in range(10):
        if page.evaluate("document.activeElement.name === 'decision' && document.activeElement.value === 'allow'"):
            break
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.value") == "allow"
    assert_focus_visible(page)
    bw.step(page, "keyboard-focus-allow")
    page.keyboard.press("Enter")
    claims = signed_in_at(page, demo.agency1)
    assert claims["family_name"] == "Kovács"


def assert_focus_visible(page) -> None:
    style = page.evaluate(
        """() => { const el = document.activeElement; const s = getComputedStyle(el);
        return {visible: el.matches(':focus-visible'), style: s.outlineStyle, width: parseFloat(s.outlineWidth)}; }"""
    )
    assert style["visible"], style
    assert style["style"] not in ("none", "hidden") and style["width"] >= 2, style


def test_logout_without_genuine_hint_asks_for_confirmation(page, demo):
    claims1 = sign_in_at_agency1(page, demo)

    # A link from anywhere, without id_token_hint: the provider asks, and signs no one out.
    page.goto(f"{demo.provider}/end-session")
    page.locator("button[name=confirm]").wait_for()
    bw.step(page, "logout-confirm")
    page.locator("form.actions a.button").click()  # "Stay signed in"
    at(page, f"{demo.provider}/")

    # Still signed in at the provider: agency 1 (consent remembered) signs in without a password.
    with bw.watch(page, bw.interaction_page(demo.provider, "login")) as login_pages:
        page.goto(f"{demo.agency1}/login")
        assert signed_in_at(page, demo.agency1)["sid"] == claims1["sid"]
    assert login_pages == []

    # Confirmed, it signs out: no redirect (no id_token_hint), the provider's own page.
    page.goto(f"{demo.provider}/end-session")
    page.locator("button[name=confirm]").click()
    page.locator("main p[role=status]").wait_for()
    assert page.locator("button[name=confirm]").count() == 0

    # Back-channel logout reached agency 1 as well: its own session for that sid has ended.
    agency_session_ended(page, demo.agency1)
    # A new sign-in at agency 2 asks for the password again: the provider's session ended.
    page.goto(f"{demo.agency2}/login")
    at(page, bw.interaction_page(demo.provider, "login"))
    page.locator(PASSWORD).wait_for()


def agency_session_ended(page, agency: str) -> None:
    """Reload the agency's page until its back-channel logout endpoint has ended its session."""
    for _ in range(100):
        page.goto(f"{agency}/")
        if page.locator("#ended").count():
            break
        page.wait_for_timeout(100)
    assert page.locator("#ended").count() == 1, "the agency never received the back-channel logout"
    page.locator("#login").wait_for()
