"""Issue 3's path in a real browser (Debian's Chromium through Playwright): a citizen pre-registers
online; an officer signs in to the office console with password and TOTP, verifies the identity
document and records the signed statement; the registration sheet shows the identifier and the
initial password; the activation code arrives by mail at a real SMTP server; the citizen
activates, is made to change the password before any agency, and a demo agency (Authlib's Flask
client) signs them in and receives the claims.

The citizen and the officer each have their own browser context (their own cookie jar); every
lifecycle page met on the way is checked with axe-core when it is installed.
"""

from __future__ import annotations

from contextlib import ExitStack
from datetime import date, timedelta

import pyotp
import pytest
from sqlalchemy import delete

from idp.app import create_app
from idp.demo.agency import create_agency_app
from idp.demo.seed import AGENCIES, seed
from idp.extensions import db
from idp.offices.service import find_office
from idp.storage import Base

from ..conftest import make_settings
from ..support import browser as bw
from ..support.lifecycle import NEW_PASSWORD, make_officer
from ..support.live import free_port, serving
from ..support.smtp import find_code

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(bw.skip_reason() is not None, reason=bw.skip_reason() or ""),
]

CITIZEN = {
    "family_name": "Varga", "given_name": "Zsófia",
    "birth_family_name": "Varga", "birth_given_name": "Zsófia",
    "mother_birth_family_name": "Fekete", "mother_birth_given_name": "Ilona",
    "birth_date": "1991-06-03", "birth_place": "Pécs",
    "address_postal_code": "7621", "address_locality": "Pécs", "address_street": "Király utca 12.",
    "email": "varga.zsofia@example.hu", "username": "varga.zsofia",
}


@pytest.fixture
def site(_schema, database_url, keys_dir, clock, smtp):
    """The provider (its mail to the SMTP server above), seeded as ``idp demo`` seeds it, and agency 1."""
    port = free_port()
    settings = make_settings(
        database_url, keys_dir, issuer=f"http://127.0.0.1:{port}",
        mail=smtp.provider_mail(),
    )
    app = create_app(settings, clock=clock)
    agency_base = {key: f"http://127.0.0.1:{free_port()}" for key, _n, _c in AGENCIES}
    with ExitStack() as stack:
        base = stack.enter_context(serving(app, port))
        stack.enter_context(app.app_context())
        rt = app.extensions["idp"]
        store: dict = {}
        seed(rt, store, agency_base)
        key, name, color = AGENCIES[0]
        creds = store["clients"][key]
        agency = create_agency_app(
            title=name, color=color, issuer=base, client_id=creds["client_id"], client_secret=creds["client_secret"],
            base_url=agency_base[key], cookie=f"{key}_session",
        )
        stack.enter_context(serving(agency, int(agency_base[key].rsplit(":", 1)[1])))
        try:
            yield {"provider": base, "agency": agency_base[key], "agency_name": name, "rt": rt}
        finally:
            db.session.remove()
            with db.engine.begin() as conn:
                for table in reversed(Base.metadata.sorted_tables):
                    conn.execute(delete(table))
            db.engine.dispose()


# -- accessibility of the pages on the way (axe-core, WCAG 2.1 A and AA) ---------------------

try:
    from axe_playwright_python.base import AXE_SCRIPT
except ImportError:  # the test extra without axe: the path is still walked
    AXE_SCRIPT = None
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
               "resultTypes": ["violations"]}


def accessible(page, name: str) -> None:
    bw.step(page, name)
    if AXE_SCRIPT is None:
        return
    page.evaluate(AXE_SCRIPT)
    violations = page.evaluate("options => axe.run(document, options).then(r => r.violations)", AXE_OPTIONS)
    serious = [f"{v['id']} [{v['impact']}]: {[n['target'] for n in v['nodes']]}" for v in violations
               if v["impact"] in ("serious", "critical")]
    assert not serious, f"{name}: {serious}"


at = bw.at


def submit(page) -> None:
    with page.expect_navigation():
        page.locator("main form.card button[type=submit].primary").click()


# -- the path --------------------------------------------------------------------------------


def pre_register(page, provider: str) -> str:
    page.goto(f"{provider}/register")
    accessible(page, "register")
    for name, value in CITIZEN.items():
        page.fill(f"#{name}", value)
    for token in ("family-name", "given-name", "bday", "email", "postal-code", "address-level2",
                  "street-address", "username"):
        assert page.locator(f"input[autocomplete={token}]").count() == 1, token
    submit(page)
    at(page, f"{provider}/register/number")
    accessible(page, "registration-number")
    return page.locator("#registration-number").inner_text().strip()


def officer_verifies(page, site, number: str) -> dict:
    provider, rt = site["provider"], site["rt"]
    login = make_officer(rt, find_office(db.session, "DEMO-01"))
    page.goto(f"{provider}/office/")
    at(page, f"{provider}/office/sign-in")
    accessible(page, "office-sign-in")
    assert page.locator("#code").get_attribute("autocomplete") == "one-time-code"
    page.fill("#username", login.officer.username)
    page.fill("#password", login.password)
    page.fill("#code", pyotp.TOTP(login.totp_secret).at(rt.now()))  # the provider's clock
    submit(page)
    at(page, f"{provider}/office/")
    assert login.officer.display_name in page.locator("#officer-name").inner_text()
    accessible(page, "office-home")

    page.fill("#number", number)
    with page.expect_navigation():
        page.click("#find-registration")
    at(page, f"{provider}/office/registrations/{number}")
    assert CITIZEN["mother_birth_family_name"] in page.locator("main").inner_text()
    accessible(page, "office-verify")
    today = rt.now().date()
    page.select_option("#doc_type", "identity_card")
    page.fill("#document_number", "654321 cd")
    page.fill("#document_issued_on", (today - timedelta(days=700)).isoformat())
    page.fill("#document_expires_on", (today + timedelta(days=1500)).isoformat())
    page.check("#statement_signed")
    with bw.watch(page, f"{provider}/office/sheet") as sheet_responses:
        submit(page)
        at(page, f"{provider}/office/sheet")
        page.locator("#sheet-initial-password").wait_for()
    assert sheet_responses[-1][2] == 200
    accessible(page, "office-sheet")
    sheet = {key: page.locator(f"#sheet-{key}").inner_text().strip()
             for key in ("identifier", "username", "initial-password")}

    # The sheet prints alone: the console bar and the reminder to print are not on paper.
    page.emulate_media(media="print")
    assert page.locator(".sheet").is_visible() and page.locator("#sheet-initial-password").is_visible()
    assert not page.locator("nav.console").is_visible() and not page.locator("header.top").is_visible()
    page.emulate_media(media="screen")
    # Shown once: reloading does not show the password again.
    page.reload()
    assert page.locator("#sheet-initial-password").count() == 0
    return sheet


def activate(page, provider: str, sheet: dict, code: str) -> None:
    page.goto(f"{provider}/activate")
    accessible(page, "activate")
    page.fill("#username", sheet["username"])
    page.fill("#initial_password", sheet["initial-password"])
    page.fill("#code", code)
    submit(page)
    at(page, f"{provider}/account/password")
    assert page.locator(".flash-success").count() == 1


def test_pre_registration_to_activation_to_an_agency(browsers, site, smtp):
    provider = site["provider"]
    citizen = browsers()
    number = pre_register(citizen, provider)
    assert number.startswith("R-")

    officer = browsers()
    sheet = officer_verifies(officer, site, number)
    assert sheet["username"] == CITIZEN["username"] and sheet["identifier"].startswith("UK-")

    mail = smtp.wait_for(to=CITIZEN["email"])
    code = find_code(mail.text())
    activate(citizen, provider, sheet, code)

    # The agency is refused until the initial password is changed (rule 7): the provider says why
    # and leads the citizen to the password page, then back to the agency.
    citizen.goto(f"{site['agency']}/")
    citizen.click("#login")
    at(citizen, bw.interaction_page(provider, "fix"))
    accessible(citizen, "fix-initial-password")
    with citizen.expect_navigation():
        citizen.locator("ul.reasons a.button").click()
    at(citizen, f"{provider}/account/password")
    # Activation proved the initial password a moment ago: it is not asked a second time.
    assert citizen.locator("#current_password").count() == 0
    citizen.fill("#new_password", NEW_PASSWORD)
    citizen.fill("#confirm_password", NEW_PASSWORD)
    submit(citizen)

    at(citizen, bw.interaction_page(provider, "consent"))
    citizen.locator("button[name=decision][value=allow]").click()
    at(citizen, f"{site['agency']}/")
    citizen.locator("#id-token-claims").wait_for()
    claims = bw.json_text(citizen, "#id-token-claims")
    userinfo = bw.json_text(citizen, "#userinfo")
    assert claims["family_name"] == CITIZEN["family_name"] and claims["given_name"] == CITIZEN["given_name"]
    assert claims["birthdate"] == CITIZEN["birth_date"]
    assert userinfo["sub"] == claims["sub"]
    assert userinfo["email"] == CITIZEN["email"] and userinfo["email_verified"] is True
    assert userinfo["address"]["postal_code"] == CITIZEN["address_postal_code"]
    assert date.fromisoformat(claims["birthdate"]) == date(1991, 6, 3)
