"""Signing in through the real form: what it reveals, throttling, the session cookie, its
timeouts and end, CSRF, security headers and the ``next`` parameter (issue 2, "Sign-in")."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

import pytest
from sqlalchemy import select

from idp.sessions.models import SsoSession
from idp.sessions.throttle import LoginThrottle, ThrottlePolicy
from idp.sharedstate import MemoryState

from ..conftest import make_settings
from ..support.factories import PASSWORD, make_account, make_client
from ..support.flows import Agency, Citizen, csrf_of, is_signed_in


class FakeTime:
    def __init__(self, start: float = 1_000_000.0):
        self.t = start

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


def session_cookie(response, name: str) -> str | None:
    for header in response.headers.getlist("Set-Cookie"):
        if header.startswith(name + "="):
            return header
    return None


def cookie_value(header: str) -> str:
    return header.split(";", 1)[0].split("=", 1)[1]


def flash_errors(html: str) -> list[str]:
    """The errors a page shows: in the error summary, or the one alert of a page without a form."""
    found = re.findall(r'<li class="flash-error">([^<]*)<|<p class="flash flash-error" role="alert">([^<]*)<', html)
    return [a or b for a, b in found]


# The page


def test_sign_in_page_has_labelled_inputs_with_autocomplete_tokens(client):
    html = client.get("/login").get_data(as_text=True)
    for token in ("username", "current-password"):
        match = re.search(rf'<input id="([^"]+)"[^>]*autocomplete="{token}"', html)
        assert match, token
        assert f'<label for="{match.group(1)}">' in html
    csrf_of(html)


def test_post_login_answers_303(citizen):
    assert citizen.sign_in().status_code == 303
    assert citizen.sign_in(password="wrong password entirely").status_code == 303


def test_empty_form_answers_303_and_signs_nobody_in(client):
    page = client.get("/login").get_data(as_text=True)
    response = client.post("/login", data={"csrf_token": csrf_of(page), "username": "", "password": ""})
    assert response.status_code == 303
    assert not is_signed_in(client)


# Failed sign-in reveals nothing about the username


def failed_page(app, username: str, password: str) -> tuple[str, str]:
    http = app.test_client()
    page = http.get("/login").get_data(as_text=True)
    response = http.post("/login", data={"csrf_token": csrf_of(page), "username": username, "password": password})
    assert response.status_code == 303
    location = response.headers["Location"]
    html = http.get(location).get_data(as_text=True)
    html = re.sub(r'name="csrf_token" type="hidden" value="[^"]+"', "CSRF", html)
    return location, html.replace(f'value="{username}"', 'value="USERNAME"')


def test_unknown_username_and_wrong_password_give_identical_pages(app, rt):
    account = make_account(rt)
    unknown = failed_page(app, "nincs-ilyen-polgar", PASSWORD)
    wrong = failed_page(app, account.username, "not the right password at all")
    assert unknown == wrong
    assert len(flash_errors(wrong[1])) == 1


# Throttling: a unit test with a fake clock, then the page


def throttle(clock: FakeTime, **policy) -> LoginThrottle:
    return LoginThrottle(MemoryState(monotonic=clock), ThrottlePolicy(**policy), wallclock=clock)


def test_throttle_delays_then_blocks_then_forgets_after_the_window():
    clock = FakeTime()
    t = throttle(clock, account_delay_after=3, account_block_after=6, window_seconds=900)
    for _ in range(3):
        assert t.check("Polgar", "10.0.0.1").allowed
        t.failed("Polgar", "10.0.0.1")
    verdict = t.check("polgar", "10.0.0.2")  # the same username, case-insensitively, from elsewhere
    assert not verdict.allowed and verdict.retry_after >= 2
    clock.advance(verdict.retry_after)
    assert t.check("polgar", "10.0.0.1").allowed
    for _ in range(3):
        clock.advance(60)
        t.failed("polgar", "10.0.0.1")
    blocked = t.check("polgar", "10.0.0.1")
    assert not blocked.allowed and blocked.retry_after == 900
    clock.advance(600)
    assert not t.check("polgar", "10.0.0.1").allowed, "no doubling delay ends a block early"
    clock.advance(900)
    assert t.check("polgar", "10.0.0.1").allowed, "every block ends with the window"


def test_throttle_delay_doubles_and_is_capped():
    clock = FakeTime()
    t = throttle(clock, account_delay_after=1, account_block_after=100, max_delay_seconds=8)
    for delay in (2, 4, 8, 8, 8):
        t.failed("polgar", "a")
        verdict = t.check("polgar", "a")
        assert not verdict.allowed and verdict.retry_after >= delay
        clock.advance(delay - 0.5)
        assert not t.check("polgar", "a").allowed
        clock.advance(0.5)
        assert t.check("polgar", "a").allowed


def test_throttle_blocks_an_address_across_usernames():
    clock = FakeTime()
    t = throttle(clock, address_block_after=5, account_delay_after=100, account_block_after=100)
    for n in range(5):
        t.failed(f"user{n}", "10.0.0.9")
    assert not t.check("someone-else", "10.0.0.9").allowed
    assert t.check("someone-else", "10.0.0.10").allowed


def test_throttle_success_resets_the_username():
    clock = FakeTime()
    t = throttle(clock, account_delay_after=2)
    t.failed("polgar", "a")
    t.failed("polgar", "a")
    t.succeeded("polgar")
    assert t.check("polgar", "a").allowed


def test_throttled_sign_in_shows_a_message_and_signs_nobody_in(rt, citizen, client):
    """The configured numbers, on a throttle whose clock the test moves."""
    clock, sec = FakeTime(), rt.settings.security
    rt.throttle = throttle(
        clock, account_delay_after=sec.login_account_failures_before_delay,
        account_block_after=sec.login_account_failures_before_block,
        address_block_after=sec.login_address_failures_before_block, window_seconds=sec.login_window_seconds,
    )
    wrong = "wrong wrong wrong"
    first = client.get(citizen.sign_in(password=wrong).headers["Location"]).get_data(as_text=True)
    for _ in range(sec.login_account_failures_before_delay - 1):
        citizen.sign_in(password=wrong)
    stopped = citizen.sign_in()  # the right password, but it must wait
    assert stopped.status_code == 429
    assert int(stopped.headers["Retry-After"]) > 0
    html = stopped.get_data(as_text=True)
    assert flash_errors(html) and flash_errors(html) != flash_errors(first)
    assert not is_signed_in(client)
    for _ in range(sec.login_account_failures_before_block - sec.login_account_failures_before_delay):
        clock.advance(rt.throttle.check(citizen.account.username, "127.0.0.1").retry_after)
        citizen.sign_in(password=wrong)
    clock.advance(sec.login_window_seconds / 2)
    citizen.sign_in()
    assert not is_signed_in(client), "refused for the window, even with the right password"
    clock.advance(sec.login_window_seconds)
    assert citizen.sign_in().status_code == 303
    assert is_signed_in(client)


# The session cookie


def test_every_sign_in_gets_a_new_session_id_and_ends_the_previous(citizen, client, rt):
    name = rt.settings.session_cookie_name
    client.set_cookie(name, "planted-by-an-attacker", domain="localhost")
    first = cookie_value(session_cookie(citizen.sign_in(), name))
    second = cookie_value(session_cookie(citizen.sign_in(), name))
    assert len({"planted-by-an-attacker", first, second}) == 3
    replay = type(client)(client.application)
    replay.set_cookie(name, first, domain="localhost")
    assert not is_signed_in(replay)
    assert is_signed_in(client)


def test_session_cookie_flags_over_http(citizen, rt):
    header = session_cookie(citizen.sign_in(), rt.settings.session_cookie_name)
    assert rt.settings.session_cookie_name == "idp_session"
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Path=/" in header
    assert "Secure" not in header and "Max-Age" not in header and "Domain" not in header


class TestOverHttps:
    BASE = "https://idp.example.hu"

    @pytest.fixture
    def settings(self, database_url, keys_dir):
        return make_settings(database_url, keys_dir, issuer=self.BASE)

    def test_session_cookie_is_secure_and_host_prefixed(self, client, rt):
        account = make_account(rt)
        page = client.get("/login", base_url=self.BASE)
        form_cookie = session_cookie(page, "__Host-idp_form")
        assert form_cookie and "Secure" in form_cookie and "HttpOnly" in form_cookie
        data = {"csrf_token": csrf_of(page.get_data(as_text=True)), "username": account.username, "password": PASSWORD}
        response = client.post("/login", data=data, base_url=self.BASE, headers={"Referer": self.BASE + "/login"})
        assert response.status_code == 303
        header = session_cookie(response, "__Host-idp_session")
        assert header, response.headers.getlist("Set-Cookie")
        for flag in ("Secure", "HttpOnly", "SameSite=Lax", "Path=/"):
            assert flag in header
        assert "Domain" not in header
        assert response.headers["Strict-Transport-Security"].startswith("max-age=")


# Timeouts and sign-out


def test_idle_timeout_ends_the_session(citizen, client, rt):
    citizen.sign_in()
    idle = rt.settings.session.idle_seconds
    rt.clock.advance(seconds=idle - 1)
    assert is_signed_in(client)  # use keeps it alive
    rt.clock.advance(seconds=idle - 1)
    assert is_signed_in(client)
    rt.clock.advance(seconds=idle)
    assert not is_signed_in(client)


def test_absolute_timeout_ends_a_session_in_constant_use(citizen, client, rt):
    citizen.sign_in()
    step = rt.settings.session.idle_seconds // 2
    used = 0
    while used + step < rt.settings.session.absolute_seconds:
        rt.clock.advance(seconds=step)
        used += step
        assert is_signed_in(client)
    rt.clock.advance(seconds=rt.settings.session.absolute_seconds - used)
    assert not is_signed_in(client)


def test_sign_out_ends_the_session_server_side(citizen, client, rt, db):
    name = rt.settings.session_cookie_name
    value = cookie_value(session_cookie(citizen.sign_in(), name))
    home = client.get("/").get_data(as_text=True)
    response = client.post("/logout", data={"csrf_token": csrf_of(home)})
    assert response.status_code == 303
    assert cookie_value(session_cookie(response, name)) == ""
    assert not is_signed_in(client)
    replay = type(client)(client.application)
    replay.set_cookie(name, value, domain="localhost")
    assert not is_signed_in(replay)
    ended = db.session.scalars(select(SsoSession)).all()
    assert [s.end_reason for s in ended] == ["signed_out"]


@pytest.mark.parametrize("path", ["/logout", "/login", "/account/password"])
def test_post_without_csrf_token_is_refused(citizen, client, path):
    citizen.sign_in()
    response = client.post(path, data={"username": citizen.account.username, "password": PASSWORD})
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert is_signed_in(client)


# Headers on every page and endpoint


def _all_responses(client, rt):
    c, secret = make_client(rt)
    agency = Agency(client, c, secret)
    yield client.get("/login")
    yield client.get("/")
    yield client.get("/signed-out")
    yield client.get("/account/password")
    yield client.get("/authorize")
    yield agency.authorize()
    yield client.get("/no-such-page")
    yield client.get("/end-session")
    yield client.get("/.well-known/openid-configuration")
    yield client.get("/jwks.json")
    yield client.post("/token", data={"grant_type": "authorization_code"})
    yield client.get("/userinfo")
    yield agency.userinfo("no-such-token")
    yield agency.introspect("no-such-token")
    yield agency.revoke("no-such-token")
    yield client.post("/logout")


def test_security_headers_on_every_page_and_endpoint(client, rt):
    seen = 0
    for response in _all_responses(client, rt):
        csp = response.headers.get("Content-Security-Policy", "")
        where = f"{response.request.path} {response.status_code}"
        assert "frame-ancestors 'none'" in csp, where
        assert "object-src 'none'" in csp.split("; "), where
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, where
        assert response.headers.get("X-Frame-Options") == "DENY", where
        assert response.headers.get("Referrer-Policy") == "no-referrer", where
        assert response.headers.get("X-Content-Type-Options") == "nosniff", where
        seen += 1
    assert seen == 16


# ``next``: never an open redirect


def browser_target(location: str, base: str = "http://localhost/login") -> str:
    """Where a browser would go: it strips tabs and newlines (WHATWG URL) and treats \\ as /."""
    cleaned = re.sub(r"[\t\n\r]", "", location).replace("\\", "/")
    return urlsplit(urljoin(base, cleaned)).netloc


OPEN_REDIRECTS = [
    "//evil.example", "https://evil.example", "/\\evil.example", "\\\\evil.example", "/\t/evil.example",
    "/\n/evil.example", "http:evil.example", "///evil.example", "/%2F/evil.example", " //evil.example",
    "javascript:alert(1)", "https:/\\evil.example",
]


@pytest.mark.parametrize("next_url", OPEN_REDIRECTS)
def test_next_after_sign_in_never_leaves_the_site(citizen, next_url):
    response = citizen.sign_in(next_url=next_url)
    assert response.status_code == 303
    assert browser_target(response.headers["Location"]) == "localhost"


@pytest.mark.parametrize("next_url", OPEN_REDIRECTS)
def test_next_after_password_change_never_leaves_the_site(client, rt, next_url):
    citizen = Citizen(client, rt, make_account(rt, initial_password=True))
    citizen.sign_in()
    page = client.get("/account/password", query_string={"next": next_url}).get_data(as_text=True)
    new = "tavaszi szél vizet áraszt 2026"
    response = client.post("/account/password", data={
        "csrf_token": csrf_of(page), "current_password": PASSWORD, "new_password": new,
        "confirm_password": new, "next": next_url,
    })
    assert response.status_code == 303
    assert browser_target(response.headers["Location"]) == "localhost"


def test_next_on_the_site_is_followed(citizen):
    response = citizen.sign_in(next_url="/account/password?x=1")
    assert response.headers["Location"] == "/account/password?x=1"


def test_a_block_lasts_a_whole_window_from_the_failure_that_crossed_the_line():
    clock = FakeTime()
    t = throttle(clock, account_delay_after=100, account_block_after=3, window_seconds=900)
    t.failed("polgar", "a")
    clock.advance(800)
    t.failed("polgar", "a")
    t.failed("polgar", "a")  # the third failure, 800 s into the counting window
    clock.advance(200)  # the counting window has ended, the block has not
    verdict = t.check("polgar", "a")
    assert not verdict.allowed and verdict.retry_after == 700


def test_at_most_the_daily_cap_of_failures_per_username():
    clock = FakeTime()
    t = throttle(clock, account_delay_after=1000, account_block_after=1000, window_seconds=60, account_daily_cap=5)
    for _ in range(5):
        assert t.check("polgar", "a").allowed
        t.failed("polgar", "a")
        clock.advance(61)
    verdict = t.check("polgar", "b")
    assert not verdict.allowed and verdict.retry_after > 86000
    clock.advance(86400)
    assert t.check("polgar", "b").allowed, "even the daily block ends by itself"


def change_password(client, current: str, new: str = "tavaszi szél vizet áraszt 2026"):
    page = client.get("/account/password").get_data(as_text=True)
    return client.post("/account/password", data={
        "csrf_token": csrf_of(page), "current_password": current, "new_password": new, "confirm_password": new,
    })


def test_guessing_the_current_password_at_the_password_change_is_throttled_like_sign_in(rt, citizen, client, db):
    """Security finding 5: with a stolen session the current password could be guessed without limit.
    The check counts under the account's sign-in key: after the block, even the right password is
    refused, and the sign-in form is blocked too."""
    clock, sec = FakeTime(), rt.settings.security
    rt.throttle = throttle(
        clock, account_delay_after=sec.login_account_failures_before_delay,
        account_block_after=sec.login_account_failures_before_block,
        address_block_after=sec.login_address_failures_before_block, window_seconds=sec.login_window_seconds,
    )
    citizen.signed_in_quickly()
    before = citizen.account.password_hash
    for _ in range(sec.login_account_failures_before_block):
        clock.advance(rt.throttle.check(citizen.account.username, "127.0.0.1").retry_after)
        change_password(client, "not my password at all")
    assert not rt.throttle.check(citizen.account.username, "127.0.0.1").allowed
    change_password(client, PASSWORD)
    db.session.refresh(citizen.account)
    assert citizen.account.password_hash == before, "refused while blocked, even with the right password"
    other = type(client)(client.application)
    Citizen(other, rt, citizen.account).sign_in()
    assert not is_signed_in(other), "the sign-in form counts the same failures"
