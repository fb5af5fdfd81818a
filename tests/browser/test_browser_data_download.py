"""The citizen's own data in a real browser (Debian's Chromium through Playwright; issue 12, "Take
their data"; GDPR Articles 15 and 20).

From ``/account`` the citizen follows the link to the readable page, which shows the personal
data, the validity, the Ügyfélkapu+ methods by name, the sessions, the agencies and what each may
receive, the access history and the events of the account; the button there downloads the same
data as a JSON file: a real download (an attachment), UTF-8 with the Hungarian letters intact,
never cached, and without a secret (no password or its hash, no TOTP secret, no recovery code or
its digest, no token, no session cookie).

Before that the citizen signed in at an agency (a third-party client, tests/support/relying_party.py)
and allowed it offline access, and the agency read the userinfo: so every part has something in
it. The provider mails through a real SMTP server (tests/support/smtp.py). The axe-core check of
this page, in both languages, is ``account-data`` in tests/support/pages.py.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from idp.accounts.models import Account
from idp.accounts.records import RecoveryCode
from idp.extensions import db

from ..support import browser as bw
from ..support.factories import PASSWORD, make_account
from ..support.flows import Citizen
from ..support.relying_party import RelyingParty

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(bw.skip_reason() is not None, reason=bw.skip_reason() or ""),
]

AGENCY = "Demo Adóhivatal"
SUBMIT = "main form.card button[type=submit]"
ALLOW = "button[name=decision][value=allow]"
PARTS = ("account", "identity_verification", "registration", "validity", "second_factor", "sessions", "agencies",
         "access_history", "audit_events")
#: An event shown by its code rather than in words ("passkey_added"): a stumble, never on the page.
RAW_CODE = re.compile(r"^[a-z]+(?:_[a-z]+)+$")


@pytest.fixture
def live_settings(smtp):
    """The live provider (tests/conftest.py ``live``) mails through the SMTP server."""
    return {"mail": smtp.provider_mail()}


@dataclass
class Site:
    base: str
    app: object
    rt: object
    account: object
    agency: RelyingParty


@pytest.fixture
def site(live, agency_site):
    base, app = live
    rt = app.extensions["idp"]
    account = make_account(rt, family_name="Szőke-Gyűrűs", given_name="Örs")
    agency = RelyingParty(base, rt, scope="openid profile email offline_access", refresh=True, site=agency_site)
    agency.client.agency = AGENCY
    db.session.commit()
    return Site(base, app, rt, account, agency)


def signed_in_at_the_agency_with_offline_access(page, site, lang: str) -> dict:
    """The citizen signs in at the agency in the browser and allows it, offline access ticked; the
    agency exchanges the code and reads the userinfo. Returns the agency's tokens."""
    agency = site.agency
    page.goto(agency.authorization_url(prompt="consent", ui_locales=lang))
    bw.at(page, bw.interaction_page(site.base, "login"))
    page.fill("input[autocomplete=username]", site.account.username)
    page.fill("input[autocomplete=current-password]", PASSWORD)
    page.locator(SUBMIT).click()
    bw.at(page, bw.interaction_page(site.base, "consent"))
    page.locator("input#offline").check()
    page.locator(ALLOW).click()
    bw.at(page, agency.redirect_uri)
    tokens = agency.exchange(page.url)
    assert tokens.get("refresh_token")
    assert agency.userinfo(tokens["access_token"]).status_code == 200
    return tokens


def secrets_of(site, page, tokens: dict, totp_secret: str, recovery_codes: list[str]) -> list[str]:
    """Everything that must never be in the page or the file."""
    db.session.expire_all()
    stored = db.session.get(Account, site.account.id)
    digests = db.session.scalars(select(RecoveryCode.code_digest).where(RecoveryCode.account_id == stored.id)).all()
    cookies = [c["value"] for c in page.context.cookies() if c["name"] == site.rt.settings.session_cookie_name]
    values = [PASSWORD, stored.password_hash, stored.totp_secret_sealed, totp_secret, *recovery_codes, *digests,
              tokens["access_token"], tokens["refresh_token"], tokens["id_token"], site.agency.secret, *cookies]
    assert digests and cookies and all(values)
    return values


@pytest.mark.parametrize("lang", ("hu", "en"))
def test_the_citizen_sees_their_data_and_downloads_it_as_a_json_file(browsers, site, clock, lang):
    from playwright.sync_api import expect

    def words(msgid: str, **values) -> str:
        return bw.words(site.app, lang, msgid, **values)

    page = browsers()
    tokens = signed_in_at_the_agency_with_offline_access(page, site, lang)
    # Ügyfélkapu+ on, straight through the service (its pages have their own browser test); its
    # first code half a minute ago, so the clock is back at the wall clock afterwards.
    clock.advance(seconds=-30)
    totp_secret, recovery_codes = Citizen(None, site.rt, site.account).with_second_factor()

    page.goto(f"{site.base}/account?lang={lang}")
    with page.expect_navigation() as navigation:
        page.locator("#see-data").click()
    bw.at(page, f"{site.base}/account/data")
    assert "no-store" in navigation.value.headers["cache-control"]
    bw.step(page, f"data-{lang}")

    expect(page.locator("main h1")).to_have_text(words("Your data"))
    personal = page.locator("section[aria-labelledby=data-personal]")
    for value in (site.account.family_name, site.account.given_name, site.account.email, site.account.identifier):
        expect(personal).to_contain_text(value)
    validity = page.locator("section[aria-labelledby=data-validity]")
    expect(validity).to_contain_text(words("Valid until"))
    expect(page.locator("#data-methods")).to_contain_text(words("Authenticator app"))
    expect(page.locator("section[aria-labelledby=data-sessions] .badge")).to_have_text(words("This device"))
    agency_item = page.locator("#data-agency-list li").filter(has_text=AGENCY)
    expect(agency_item).to_have_count(1)
    for label in ("Name and date of birth", "Email address",
                  "it may read your data while you are not signed in, until you withdraw it."):
        expect(agency_item).to_contain_text(words(label))
    expect(page.locator("#data-history-list li").filter(has_text=AGENCY).first).to_be_visible()
    events = page.locator("#data-event-list li strong")
    expect(events.filter(has_text=words("Ügyfélkapu+ turned on"))).to_have_count(1)
    shown = events.all_inner_texts()
    assert not [e for e in shown if RAW_CODE.match(e.strip())], f"events shown by their code: {shown}"

    forbidden = secrets_of(site, page, tokens, totp_secret, recovery_codes)
    html = page.content()
    assert not [s for s in forbidden if s in html], "a secret is on the data page"

    with page.expect_response(lambda r: r.request.method == "POST" and r.url == f"{site.base}/account/data") as answer:
        with page.expect_download() as downloading:
            page.get_by_role("button", name=words("Download my data (JSON file)")).click()
    response, download = answer.value, downloading.value
    assert response.status == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["content-disposition"].startswith("attachment;")
    assert "no-store" in response.headers["cache-control"]
    assert download.suggested_filename.endswith(".json") and site.account.identifier in download.suggested_filename

    raw = Path(download.path()).read_bytes()
    body = json.loads(raw.decode("utf-8"))
    assert site.account.family_name.encode() in raw  # the letters themselves (ő, ű), not \u escapes
    assert body["format"] == "ugyfelkapu-personal-data/1"
    assert all(body.get(part) is not None for part in PARTS), [p for p in PARTS if body.get(p) is None]
    assert body["account"]["family_name"] == "Szőke-Gyűrűs" and body["account"]["given_name"] == "Örs"
    assert body["validity"]["state"] == "active" and body["validity"]["valid_until"]
    assert [m["method"] for m in body["second_factor"]["methods"]] == ["otp"]
    assert body["second_factor"]["recovery_codes_unused"] == len(recovery_codes)
    assert [s["this_device"] for s in body["sessions"]] == [True]
    [allowed] = body["agencies"]
    assert allowed["agency"] == AGENCY and allowed["client_id"] == site.agency.client.client_id
    assert allowed["offline_access"] is True
    assert {"family_name", "email"} <= set(allowed["claims"])
    assert {h["channel"] for h in body["access_history"]} == {"id_token", "userinfo"}
    assert "second_factor_enrolled" in [e["event"] for e in body["audit_events"]]
    text = raw.decode("utf-8")
    assert not [s for s in forbidden if s in text], "a secret is in the download"
