"""The front hall in a real browser (Debian's Chromium through Playwright) against the provider on
a real port: an agency's request kept as one interaction record from the request to the callback.

- A signed-in citizen whose agency POSTs the request from another site gets no sign-in form, and
  the ID token's ``auth_time`` is the earlier sign-in's.
- Cancel on the sign-in page and deny on the consent page land at the agency with
  ``access_denied``, its ``state`` and ``iss``.
- An interaction opened in a second browser does not complete the first browser's request.
- An expired interaction shows the start-again page.
- A pushed authorization request (RFC 9126) made by a third-party client library completes; its
  ``request_uri`` is not accepted twice, and a push without client authentication is refused.

The agencies are third-party client libraries (tests/support/relying_party.py); the provider is at
``http://127.0.0.1:PORT`` and the agency's own page at ``http://localhost:PORT``: another site, so
the browser sends the provider's SameSite=Lax cookies with no cross-site POST.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime

import pytest
import requests
from requests_oauth2client import (
    AuthorizationRequest,
    AuthorizationResponse,
    ClientSecretBasic,
    InvalidClient,
    OAuth2Client,
)

from ..support import browser as bw
from ..support.factories import PASSWORD, make_account
from ..support.live import AgencySite, free_port, serving
from ..support.relying_party import RelyingParty

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(bw.skip_reason() is not None, reason=bw.skip_reason() or ""),
]

SUBMIT = "main form.card button[type=submit]"
START_AGAIN = "Please start again at the agency"


@pytest.fixture
def agency_site():
    """The agencies' own website, on another site than the provider (localhost, not 127.0.0.1)."""
    pages = AgencySite()
    port = free_port()
    with serving(pages, port):
        yield f"http://localhost:{port}", pages


@pytest.fixture
def site(live, agency_site):
    base, app = live
    rt = app.extensions["idp"]
    return base, rt, make_account(rt)


@pytest.fixture
def agency(site, agency_site):
    """An agency the citizen allowed before."""
    base, rt, account = site
    return RelyingParty(base, rt, consented_by=account, site=agency_site[0])


@pytest.fixture
def context(chromium, request):
    """One citizen's browser, in English."""
    with bw.fresh_page(chromium, request, locale="en-GB") as page:
        yield page.context


def sign_in_form(page, account) -> None:
    page.fill("input[autocomplete=username]", account.username)
    page.fill("input[autocomplete=current-password]", PASSWORD)
    page.locator(SUBMIT).click()


def at_agency(page, agency) -> dict[str, str]:
    bw.at(page, agency.redirect_uri)
    return agency.callback(page.url)


def agency_page_posting(agency_site, params: dict[str, str], authorize_endpoint: str) -> str:
    """The agency's own page on another site: a form that POSTs the request to ``/authorize``
    when the citizen presses its button. Returns the page's URL."""
    url, pages = agency_site
    fields = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">' for k, v in params.items()
    )
    body = (f'<!doctype html><meta charset="utf-8"><title>Agency</title><form method="post" action="{html.escape(authorize_endpoint)}">'
            f'{fields}<button type="submit">Sign in with Ügyfélkapu</button></form>')
    pages.put("/start", body)
    return f"{url}/start"


def test_a_cross_site_post_keeps_single_sign_on_and_the_earlier_auth_time(context, site, agency_site, clock):
    base, rt, account = site
    first = RelyingParty(base, rt, consented_by=account, site=agency_site[0])
    second = RelyingParty(base, rt, consented_by=account, site=agency_site[0])
    page = context.pages[0]
    clock.advance(seconds=-120)  # the sign-in two minutes ago
    page.goto(first.authorization_url())
    bw.at(page, bw.interaction_page(base, "login"))
    sign_in_form(page, account)
    at_agency(page, first)
    claims_first = first.id_token(page.url)
    clock.advance(seconds=120)

    start = agency_page_posting(agency_site, second.authorization_params(), second.meta["authorization_endpoint"])
    page.goto(start)
    with bw.watch(page, base) as seen:
        page.get_by_role("button", name="Sign in with Ügyfélkapu").click()
        params = at_agency(page, second)
    assert params["state"] == second.state and params["iss"] == base and "code" in params
    claims = second.id_token(page.url)
    assert claims["auth_time"] == claims_first["auth_time"]
    assert claims["sub"]  # a signed ID token for the same sign-in
    steps = [(method, url.split("?")[0].removeprefix(base)) for method, url, _status in seen]
    assert steps[0] == ("POST", "/authorize")  # cross-site: no cookie, kept as an interaction
    assert steps[1][0] == "GET" and steps[1][1].startswith("/interaction/")  # same-site: the cookie is sent
    assert not any(url.endswith("/login") for _method, url in steps), steps  # no sign-in form on the way


def test_cancel_on_the_sign_in_page_answers_access_denied_with_state_and_iss(context, site, agency_site):
    base, rt, _account = site
    agency = RelyingParty(base, rt, site=agency_site[0])
    page = context.pages[0]
    page.goto(agency.authorization_url())
    bw.at(page, bw.interaction_page(base, "login"))
    cancel = page.locator("form.cancel button")
    assert agency.client.name in cancel.inner_text()
    cancel.focus()
    page.keyboard.press("Enter")  # by keyboard
    params = at_agency(page, agency)
    assert params == {"error": "access_denied", "state": agency.state, "iss": base} | (
        {"error_description": params["error_description"]} if "error_description" in params else {}
    )
    assert "code" not in params


def test_deny_on_the_consent_page_answers_access_denied_with_state_and_iss(context, site, agency_site):
    base, rt, account = site
    agency = RelyingParty(base, rt, site=agency_site[0])  # never allowed before: the consent page is shown
    page = context.pages[0]
    page.goto(agency.authorization_url())
    bw.at(page, bw.interaction_page(base, "login"))
    sign_in_form(page, account)
    bw.at(page, bw.interaction_page(base, "consent"))
    page.get_by_role("button", name="Deny and return to the agency").click()
    params = at_agency(page, agency)
    assert params["error"] == "access_denied" and params["state"] == agency.state and params["iss"] == base
    assert "code" not in params


def test_an_interaction_opened_in_a_second_browser_does_not_complete_the_first_ones_request(
    chromium, request, context, site, agency
):
    base, rt, account = site
    page = context.pages[0]
    page.goto(agency.authorization_url())
    bw.at(page, bw.interaction_page(base, "login"))
    login_url = page.url
    resume_url = login_url.rsplit("/", 1)[0]

    other_account = make_account(rt)
    with bw.fresh_page(chromium, request, locale="en-GB") as other:
        other.goto(f"{base}/login")  # the other browser has its own signed-in citizen
        sign_in_form(other, other_account)
        other.wait_for_url(f"{base}/")
        for url in (login_url, resume_url):
            response = other.goto(url)
            assert response.status == 410
            assert other.get_by_role("heading", level=1).inner_text() == START_AGAIN
            assert not other.url.startswith(agency.redirect_uri)
        assert other.locator(f"a[href^='{agency.redirect_uri}']").count() == 0

    sign_in_form(page, account)  # the first browser still finishes its own request
    params = at_agency(page, agency)
    assert "code" in params and params["state"] == agency.state
    assert agency.id_token(page.url)["sub"]


def test_an_expired_interaction_shows_the_start_again_page(context, site, agency, clock):
    base, rt, account = site
    page = context.pages[0]
    page.goto(agency.authorization_url())
    bw.at(page, bw.interaction_page(base, "login"))
    clock.advance(seconds=rt.settings.session.interaction_seconds + 1)
    with bw.watch(page, agency.redirect_uri) as to_agency:
        sign_in_form(page, account)
        page.get_by_role("heading", level=1, name=START_AGAIN).wait_for()
    assert to_agency == []  # never sent back to the agency
    assert page.url.startswith(base)
    assert page.locator("a[href='/']").count() >= 1  # a way on: the home page


def test_a_pushed_request_from_a_third_party_client_completes_once(context, site, agency):
    base, _rt, account = site
    meta = agency.meta
    assert meta["pushed_authorization_request_endpoint"] == f"{base}/par"
    jwks = requests.get(meta["jwks_uri"], timeout=5).json()
    oauth = OAuth2Client.from_discovery_document(
        meta, auth=ClientSecretBasic(agency.client.client_id, agency.secret), authorization_server_jwks=jwks,
        testing=True,  # the provider is on http://127.0.0.1 in the test
    )
    authz = AuthorizationRequest(
        meta["authorization_endpoint"], client_id=agency.client.client_id, redirect_uri=agency.redirect_uri,
        scope="openid profile", issuer=meta["issuer"], authorization_response_iss_parameter_supported=True,
    )
    pushed = oauth.pushed_authorization_request(authz)
    assert 0 < (pushed.expires_at - datetime.now(UTC)).total_seconds() <= 90
    page = context.pages[0]
    page.goto(pushed.uri)
    bw.at(page, bw.interaction_page(base, "login"))
    sign_in_form(page, account)
    bw.at(page, agency.redirect_uri)
    response: AuthorizationResponse = authz.validate_callback(page.url)  # state and iss checked by the library
    token = oauth.authorization_code(response)  # the library validates the ID token (signature, nonce, iss)
    claims = pyjwt_claims(agency, str(token.id_token), authz.nonce)  # and so does PyJWT
    assert claims["aud"] == agency.client.client_id

    again = page.goto(pushed.uri)  # the same request_uri a second time
    assert again.status == 400 and "invalid_request_uri" in page.content()
    assert not page.url.startswith(agency.redirect_uri)

    unauthenticated = requests.post(meta["pushed_authorization_request_endpoint"],
                                    data=dict(authz.args, client_id=agency.client.client_id), timeout=5)
    assert unauthenticated.status_code == 401 and unauthenticated.json()["error"] == "invalid_client"
    wrong = OAuth2Client.from_discovery_document(
        meta, auth=ClientSecretBasic(agency.client.client_id, "wrong"), testing=True,
    )
    with pytest.raises(InvalidClient):
        wrong.pushed_authorization_request(authz)


def pyjwt_claims(agency: RelyingParty, id_token: str, nonce: str) -> dict:
    agency.nonce = nonce
    return agency.verified(id_token)
