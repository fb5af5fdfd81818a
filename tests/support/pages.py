"""Every page a citizen can meet, reachable by id: for the accessibility check and the screenshots.

``seed_site`` puts demo-like data into a running provider (the demo citizen and
agencies of ``idp demo``, plus a newcomer who still has the initial password) and
starts their sign-in sessions straight from the service; ``open_page`` brings a
fresh browser context to one page in one language, signed in as that page needs.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

from idp.accounts import assurance
from idp.accounts.service import find_by_username
from idp.clients.service import find, set_offline_access
from idp.demo.seed import AGENCIES, DEMO_PASSWORD, DEMO_USERNAME, seed
from idp.extensions import db
from idp.authorizations import consent
from idp.sessions import service as sessions

from .factories import make_account
from .flows import pkce_pair

LANGS = ("hu", "en")
CONSENTED = "openid profile email"  # what the demo citizen has allowed agency 2
#: The agencies' callbacks are never served: only their URIs must be valid for the clients.
AGENCY_BASE = {key: f"http://127.0.0.1:{9 + i}" for i, (key, _n, _c) in enumerate(AGENCIES)}


@dataclass
class Site:
    base: str
    clients: dict[str, str]  # agency key -> client_id
    cookie_name: str
    cookies: dict[str, str] = field(default_factory=dict)  # who -> session cookie secret
    #: Live recovery links (``/recover/<token>``) by who: opening one does not use it up.
    recovery_links: dict[str, str] = field(default_factory=dict)
    #: The passkey of the citizen with Ügyfélkapu+ ("plus"), for its removal page.
    passkey_id: int = 0

    def authorize_url(self, agency: str, **extra) -> str:
        _verifier, challenge = pkce_pair()
        params = {
            "response_type": "code",
            "client_id": self.clients[agency],
            "redirect_uri": f"{AGENCY_BASE[agency]}/callback",
            "scope": "openid profile email address",
            "state": secrets.token_urlsafe(8),
            "nonce": secrets.token_urlsafe(8),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            **extra,
        }
        return "/authorize?" + urlencode(params)


def seed_site(rt, base: str) -> Site:
    """The demo citizen (consented to agency 2, not to agency 1) and a newcomer, both signed in."""
    store: dict = {}
    seed(rt, store, AGENCY_BASE)
    clients = {key: creds["client_id"] for key, creds in store["clients"].items()}
    site = Site(base, clients, rt.settings.session_cookie_name)
    citizen = find_by_username(db.session, DEMO_USERNAME)
    newcomer = make_account(rt, username="uj.polgar", initial_password=True, family_name="Szabó", given_name="Péter")
    for key in clients:  # both may ask for offline access (the consent page's extra question)
        set_offline_access(find(db.session, clients[key]), rt.now(), allow=True)
    consent.record(db.session, citizen.id, find(db.session, clients["agency2"]).id, CONSENTED, rt.now(), offline=True)
    pwd = ["pwd"]
    for who, account in (("citizen", citizen), ("newcomer", newcomer)):
        _sso, secret = sessions.start(db.session, account, rt.now(), pwd, assurance.level_for(pwd, rt.assurance))
        site.cookies[who] = secret
    _fill_account(rt, citizen, clients)
    db.session.commit()
    _recovery_links(rt, site)
    _plus_citizen(rt, site)
    return site


#: A phone's browser, as long as they come, and an IPv6 address: the session list must still fit a phone.
PHONE = ("Mozilla/5.0 (Linux; Android 14; SM-S918B Build/UP1A.231005.007; wv) AppleWebKit/537.36 "
         "(KHTML, like Gecko) Version/4.0 Chrome/120.0.6099.230 Mobile Safari/537.36 SamsungBrowser/23.0")
EVERY_CLAIM = ("sub", "name", "family_name", "given_name", "birthdate", "email", "email_verified", "address",
               "https://ugyfelkapu.gov.hu/claims/test_account")


def _fill_account(rt, citizen, clients: dict[str, str]) -> None:
    """The demo citizen's /account as full as it gets: a second device, and an access history from
    both agencies over both channels (issue 12: /account was 406 px wide on a 390 px phone)."""
    from idp.authorizations import releases

    pwd = ["pwd"]
    sessions.start(db.session, citizen, rt.now(), pwd, assurance.level_for(pwd, rt.assurance),
                   ip_address="2001:0db8:85a3:0000:0000:8a2e:0370:7334", user_agent=PHONE)
    for key in clients:
        for channel in (releases.ID_TOKEN, releases.USERINFO):
            releases.record(db.session, citizen.id, find(db.session, clients[key]).id, channel, EVERY_CLAIM, rt.now())


def _recovery_links(rt, site: Site) -> None:
    """A forgetful citizen without Ügyfélkapu+ and one with an authenticator, each with a live link."""
    from idp.accounts import recovery as rules
    from idp.lifecycle import second_factor
    from idp.lifecycle.context import context_for
    from idp.security import totp

    ctx = context_for(rt, db.session)
    plain = make_account(rt, username="feledekeny.anna", family_name="Feledékeny", given_name="Anna")
    guarded = make_account(rt, username="ovatos.bela", family_name="Óvatos", given_name="Béla")
    secret = second_factor.begin_enrolment(ctx, guarded)
    second_factor.confirm_enrolment(ctx, guarded, totp.code_at(secret, rt.now()), rt.now())
    for who, account in (("forgetful", plain), ("forgetful_plus", guarded)):
        site.recovery_links[who] = f"/recover/link?token={rules.issue(db.session, account, rt.now(), ctx.recovery).token}"
    db.session.commit()


def _plus_citizen(rt, site: Site) -> None:
    """A citizen with Ügyfélkapu+ (an authenticator app) and a passkey, signed in with both factors."""
    from idp.accounts.passkey_records import Passkey
    from idp.lifecycle import second_factor
    from idp.lifecycle.context import context_for
    from idp.security import totp

    ctx = context_for(rt, db.session)
    account = make_account(rt, username="plusz.polgar", family_name="Plusz", given_name="Piroska")
    secret = second_factor.begin_enrolment(ctx, account)
    second_factor.confirm_enrolment(ctx, account, totp.code_at(secret, rt.now()), rt.now())
    passkey = Passkey(account_id=account.id, credential_id="cGx1c3otcG9sZ2Fy", public_key=b"\x00", user_handle="plusz",
                      name="Munkahelyi laptop", created_at=rt.now())
    db.session.add(passkey)
    amr = ["pwd", "otp"]
    _sso, site.cookies["plus"] = sessions.start(db.session, account, rt.now(), amr, assurance.level_for(amr, rt.assurance))
    db.session.commit()
    site.passkey_id = passkey.id


def _submit_login_empty(page) -> None:
    with page.expect_navigation():
        page.locator("form.card button[type=submit]").click()


def _submit_short_password(page) -> None:
    page.fill("#current_password", DEMO_PASSWORD)
    page.fill("#new_password", "rovid")
    page.fill("#confirm_password", "rovid")
    with page.expect_navigation():
        page.locator("form.card button[type=submit]").click()


def _no_auto_submit(context) -> None:
    # form_post.js would post the response to the agency at once; without it the page stays,
    # as a browser without JavaScript shows it (the "Continue" button).
    context.route("**/static/form_post.js", lambda route: route.abort())


@dataclass(frozen=True)
class Page:
    id: str
    url: Callable[[Site], str]
    shows: str  # a selector only this page has: proof that the page is the one meant
    who: str | None = None  # "citizen", "newcomer", "plus" or not signed in
    status: int = 200
    then: Callable | None = None  # an action on the page (submit a form) before looking at it
    setup: Callable | None = None  # on the browser context, before the page loads
    main: bool = True  # one of the main pages, for the screenshots


PAGES = (
    Page("login", lambda s: s.authorize_url("agency1"), "#username"),
    Page("interaction-gone", lambda s: "/interaction/no-such-interaction", "main h1", status=410, main=False),
    Page("login-error", lambda s: "/login", ".flash-error", then=_submit_login_empty, main=False),
    Page("home", lambda s: "/", "main a.button.primary"),
    Page("home-signed-in", lambda s: "/", "dl.facts", who="citizen"),
    Page("consent", lambda s: s.authorize_url("agency1"), "button[name=decision]", who="citizen"),
    Page("fix", lambda s: s.authorize_url("agency1"), "ul.reasons", who="newcomer"),
    Page("password", lambda s: "/account/password", "#new_password", who="citizen"),
    Page("password-initial", lambda s: "/account/password", "#new_password", who="newcomer", main=False),
    Page("password-error", lambda s: "/account/password", "[aria-invalid=true]", who="citizen",
         then=_submit_short_password, main=False),
    Page("error", lambda s: "/authorize?client_id=unknown&response_type=code", "main code", status=400),
    Page("not-found", lambda s: "/no-such-page", "main code", status=404, main=False),
    Page("logout-confirm", lambda s: f"/end-session?client_id={s.clients['agency1']}", "button[name=confirm]",
         who="citizen"),
    Page("signed-out", lambda s: "/signed-out", "main p[role=status]"),
    # Agency 2 already holds consent for these scopes: the response goes straight back to it.
    Page("form-post", lambda s: s.authorize_url("agency2", response_mode="form_post", scope=CONSENTED), "#form-post",
         who="citizen", setup=_no_auto_submit, main=False),
    # The citizen's lifecycle pages (issue 3). The office console's pages need a signed-in officer:
    # tests/browser/test_browser_registration.py checks them on its way.
    Page("register", lambda s: "/register", "#mother_birth_family_name", main=False),
    Page("register-error", lambda s: "/register", "[aria-invalid=true]", then=_submit_login_empty, main=False),
    Page("register-electronic", lambda s: "/register/electronic", "#doc_type", main=False),
    Page("activate", lambda s: "/activate", "#code", main=False),
    Page("activate-error", lambda s: "/activate", ".flash-error", then=_submit_login_empty, main=False),
    Page("validity", lambda s: "/account/validity", "#valid-until", who="citizen", main=False),
    # Recovering a forgotten password (issue 12): the request, its error, the one answer, the
    # Ügyfélkapu+ code behind a link, the new password behind a link.
    Page("recover", lambda s: "/recover", "#email"),
    Page("recover-error", lambda s: "/recover", "[aria-invalid=true]", then=_submit_login_empty, main=False),
    Page("recover-sent", lambda s: "/recover/sent", "main a[href='/recover']", main=False),
    Page("recover-code", lambda s: s.recovery_links["forgetful_plus"], "#code", main=False),
    Page("recover-password", lambda s: s.recovery_links["forgetful"], "#new_password", main=False),
    # Offline access asked (OIDC Core §11), the account page that withdraws it, and the citizen's data.
    Page("consent-offline", lambda s: s.authorize_url("agency1", scope="openid profile offline_access", prompt="consent"),
         "#offline", who="citizen"),
    Page("account", lambda s: "/account", ".offline-withdraw", who="citizen", main=False),
    Page("account-data", lambda s: "/account/data", "#download-data", who="citizen", main=False),
    Page("sign-out-everywhere", lambda s: "/account/sessions/end-all", "#confirm-sign-out-everywhere", who="citizen",
         main=False),
    # Ügyfélkapu+: the choice between an authenticator app and a code by email.
    Page("second-factor", lambda s: "/account/second-factor", "#secret", who="citizen", main=False),
    # Ügyfélkapu+ on: changing it, turning it off, new recovery codes, removing a passkey (issue 12).
    Page("second-factor-on", lambda s: "/account/second-factor", "#turn-off", who="plus", main=False),
    Page("second-factor-off", lambda s: "/account/second-factor/off", "#confirm-turn-off", who="plus", main=False),
    Page("recovery-codes", lambda s: "/account/second-factor/recovery-codes", "#current_password", who="plus",
         main=False),
    Page("passkey-remove", lambda s: f"/account/second-factor/passkeys/{s.passkey_id}/remove", "#confirm-remove-passkey",
         who="plus", main=False),
    Page("office-sign-in", lambda s: "/office/sign-in", "#code", main=False),
    # The integration guide for agencies' developers: long code blocks and a table on a phone.
    Page("integration-guide", lambda s: "/docs/integration", "pre code", main=False),
)
PAGE_IDS = [p.id for p in PAGES]


def with_lang(url: str, lang: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}lang={lang}"


def open_page(context, site: Site, page_def: Page, lang: str):
    """A new tab of ``context`` on the page in ``lang`` (the language switch, ``?lang=``), ready to look at."""
    if page_def.who:
        context.add_cookies([{"name": site.cookie_name, "value": site.cookies[page_def.who], "url": site.base}])
    if page_def.setup:
        page_def.setup(context)
    page = context.new_page()
    response = page.goto(site.base + with_lang(page_def.url(site), lang))
    assert response is not None and response.status == page_def.status, (page_def.id, response and response.status)
    if page_def.then:
        page_def.then(page)
    page.locator(page_def.shows).first.wait_for()
    assert page.locator("html").get_attribute("lang") == lang, page_def.id
    return page
