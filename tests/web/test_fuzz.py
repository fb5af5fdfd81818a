"""A property-based fuzz of every route and method of the application (hypothesis).

Every rule of ``app.url_map`` with every method it takes (and one it does not) gets generated
requests: query and form parameters named as the provider's forms and protocol name them or
anything else, with values of any Unicode, control characters, invalid UTF-8 in percent escapes,
raw non-ASCII bytes, huge values, repeated names; JSON bodies; odd ``Content-Type``,
``Authorization``, ``Cookie``, ``X-Request-ID`` and ``Accept-Language`` headers. Some requests
carry a valid CSRF token, a real client's credentials, a real interaction or client id, so the
fuzz reaches the validation behind the guards. The property: never a 5xx, and a well-formed error
(JSON with ``error`` at the protocol endpoints, an HTML page elsewhere).

Seeded (``derandomize``) and bounded: ``IDP_FUZZ_EXAMPLES`` examples per route and method (8 by
default: under a minute of CPU on two cores); raise it for a longer hunt.
"""

from __future__ import annotations

import base64
import json
import os
from urllib.parse import quote, quote_from_bytes

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from idp.app import create_app
from idp.extensions import db as _db

from ..conftest import _empty_tables, make_settings
from ..support.console import sign_in_officer
from ..support.factories import make_account, make_client
from ..support.flows import Agency, Citizen, csrf_of
from ..support.lifecycle import make_officer

EXAMPLES = int(os.environ.get("IDP_FUZZ_EXAMPLES", "8"))

#: Every route of the application, with the methods it takes (a test keeps this equal to url_map).
ROUTES = {
    "/": ["GET"],
    "/.well-known/change-password": ["GET"],
    "/.well-known/oauth-authorization-server": ["GET"],
    "/.well-known/openid-configuration": ["GET"],
    "/account": ["GET"],
    "/account/agencies/offline/withdraw": ["POST"],
    "/account/agencies/withdraw": ["POST"],
    "/account/data": ["GET", "POST"],
    "/account/password": ["GET", "POST"],
    "/account/second-factor": ["GET", "POST"],
    "/account/second-factor/cancel": ["POST"],
    "/account/second-factor/change": ["POST"],
    "/account/second-factor/off": ["GET"],
    "/account/second-factor/passkeys": ["POST"],
    "/account/second-factor/passkeys/<int:passkey_id>/remove": ["GET", "POST"],
    "/account/second-factor/passkeys/new": ["GET", "POST"],
    "/account/second-factor/recovery-codes": ["GET", "POST"],
    "/account/second-factor/send-code": ["POST"],
    "/account/sessions/end": ["POST"],
    "/account/sessions/end-all": ["GET"],
    "/account/validity": ["GET", "POST"],
    "/activate": ["GET", "POST"],
    "/authorize": ["GET", "POST"],
    "/connect/register": ["POST"],
    "/connect/register/<client_id>": ["DELETE", "GET", "PUT"],
    "/docs/integration": ["GET"],
    "/end-session": ["GET", "POST"],
    "/healthz": ["GET"],
    "/interaction/<uid>": ["GET"],
    "/interaction/<uid>/cancel": ["POST"],
    "/interaction/<uid>/consent": ["GET", "POST"],
    "/interaction/<uid>/fix": ["GET"],
    "/interaction/<uid>/login": ["GET", "POST"],
    "/interaction/<uid>/login/passkey": ["POST"],
    "/interaction/<uid>/second-factor": ["GET", "POST"],
    "/interaction/<uid>/second-factor/passkey": ["POST"],
    "/interaction/<uid>/second-factor/send": ["POST"],
    "/introspect": ["POST"],
    "/jwks.json": ["GET"],
    "/login": ["GET", "POST"],
    "/login/passkey": ["POST"],
    "/login/second-factor": ["GET", "POST"],
    "/login/second-factor/passkey": ["POST"],
    "/login/second-factor/send": ["POST"],
    "/logout": ["POST"],
    "/metrics": ["GET"],
    "/office/": ["GET"],
    "/office/accounts": ["POST"],
    "/office/accounts/<identifier>": ["GET", "POST"],
    "/office/accounts/<identifier>/activation-code": ["POST"],
    "/office/accounts/<identifier>/delete": ["GET", "POST"],
    "/office/accounts/<identifier>/reactivate": ["POST"],
    "/office/register": ["GET", "POST"],
    "/office/registrations": ["POST"],
    "/office/registrations/<number>": ["GET", "POST"],
    "/office/sheet": ["GET"],
    "/office/sign-in": ["GET", "POST"],
    "/office/sign-out": ["POST"],
    "/par": ["POST"],
    "/readyz": ["GET"],
    "/recover": ["GET", "POST"],
    "/recover/code": ["POST"],
    "/recover/code/send": ["POST"],
    "/recover/link": ["GET"],
    "/recover/passkey": ["POST"],
    "/recover/password": ["GET", "POST"],
    "/recover/sent": ["GET"],
    "/register": ["GET", "POST"],
    "/register/electronic": ["GET", "POST"],
    "/register/electronic/document": ["GET"],
    "/register/electronic/sheet": ["GET"],
    "/register/electronic/sign": ["GET", "POST"],
    "/register/number": ["GET"],
    "/revoke": ["POST"],
    "/signed-out": ["GET"],
    "/static/<path:filename>": ["GET"],
    "/token": ["POST"],
    "/userinfo": ["GET", "POST"],
}

PROTOCOL = ("/token", "/userinfo", "/introspect", "/revoke", "/par", "/connect/register")
PUBLIC_JSON = ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server", "/jwks.json")

#: Parameter names the provider reads somewhere, so generated requests hit real code paths.
NAMES = [
    "client_id", "client_secret", "redirect_uri", "response_type", "scope", "state", "nonce", "code_challenge",
    "code_challenge_method", "response_mode", "prompt", "max_age", "claims", "acr_values", "id_token_hint",
    "login_hint", "ui_locales", "request", "request_uri", "grant_type", "code", "code_verifier", "refresh_token",
    "token", "token_type_hint", "access_token", "client_assertion", "client_assertion_type",
    "post_logout_redirect_uri", "logout_hint", "confirm", "decision", "next", "lang", "csrf_token", "username",
    "password", "current_password", "new_password", "confirm_password", "end_other_sessions", "sid", "agency",
    "code_type", "method", "remember", "identifier", "number", "family_name", "given_name", "birth_date",
    "email", "document", "signature", "activation_code", "totp", "recovery_code", "office", "reason",
    # Names that clash with the routes' path variables and url_for's own arguments.
    "uid", "filename", "endpoint", "_external", "_scheme", "_anchor", "_method",
]

# Latin-1 without controls: what an HTTP header value can carry.
HEADER_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=80)
ANY_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=60)
ODD_VALUES = st.sampled_from([
    "", " ", "\x00", "a\x00b", "\\", '"', "'", "<script>", "é", "\u202e", "%", "%ff", "%00", "-1", "0", "1e309",
    "9" * 40, "²", "null", "[]", "{}", "{" * 50, "[" * 3000, "openid", "code", "S256", "none", "login consent",
    "form_post", "query", "fragment", "https://evil.example/", "http://localhost/", "javascript:alert(1)", "/\\evil",
    "//evil.example", "x" * 9000,
])


def value_bytes():
    """A parameter value as bytes: UTF-8 text, odd values, or bytes that are not UTF-8."""
    return st.one_of(
        ANY_TEXT.map(lambda s: s.encode("utf-8")),
        ODD_VALUES.map(lambda s: s.encode("utf-8")),
        st.binary(max_size=40),
        st.just(b"x" * 70_000),
    )


def encode_pairs(pairs: list[tuple[bytes, bytes]]) -> str:
    return "&".join(f"{quote_from_bytes(k, safe='')}={quote_from_bytes(v, safe='')}" for k, v in pairs)


class World:
    """What a real caller would hold: a client and its credentials, a signed-in citizen's cookie and
    an officer signed in to the console (the same browser), a live interaction, a CSRF token of the
    session, a real account identifier."""

    def __init__(self, app, rt):
        self.http = app.test_client()
        c, secret = make_client(rt)
        self.agency = Agency(self.http, c, secret)
        account = make_account(rt)
        self.identifier = account.identifier
        Citizen(self.http, rt, account).signed_in_quickly()
        assert sign_in_officer(self.http, rt, make_officer(rt)).headers["Location"] == "/office/"
        assert self.http.get("/office/").status_code == 200 and self.http.get("/account").status_code == 200
        location = self.agency.authorize().headers["Location"]
        self.uid = location.split("/interaction/")[1].split("/")[0].split("?")[0]
        self.http.get(location)
        self.csrf = csrf_of(self.http.get("/account/password").get_data(as_text=True))
        self.basic = "Basic " + base64.b64encode(f"{c.client_id}:{secret}".encode()).decode()

    def names(self):
        return st.one_of(st.sampled_from(NAMES), ANY_TEXT).map(lambda s: s.encode("utf-8"))

    def values(self):
        known = st.sampled_from([
            self.agency.client.client_id, self.agency.redirect_uri, self.csrf, "openid profile", "code", "S256",
            "authorization_code", "refresh_token", "allow", "deny", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ]).map(lambda s: s.encode("utf-8"))
        return st.one_of(known, value_bytes())

    def pairs(self):
        pair = st.tuples(self.names(), self.values())
        with_csrf = st.booleans().map(lambda yes: [(b"csrf_token", self.csrf.encode())] if yes else [])
        return st.tuples(with_csrf, st.lists(pair, max_size=8)).map(lambda t: t[0] + t[1])

    def authorization(self):
        return st.one_of(
            st.none(),
            st.just(self.basic),
            st.sampled_from(["Basic ", "Bearer ", "Basic", "Bearer", "Basic \xe9", "Negotiate x", "Bearer a b"]),
            st.binary(max_size=40).map(lambda b: "Basic " + base64.b64encode(b).decode()),
            HEADER_TEXT.map(lambda s: "Bearer " + s),
            HEADER_TEXT,
        )

    def segment(self, name: str):
        real = {"client_id": self.agency.client.client_id, "uid": self.uid, "identifier": self.identifier}.get(name)
        generated = ANY_TEXT.filter(lambda s: s not in ("", ".", "..")).map(lambda s: quote(s, safe=""))
        odd = st.sampled_from(["x" * 3000, "%00", "%ff%fe", "a%2Fb", "..%2F..%2Fidp"])
        return st.one_of(st.just(real), generated, odd) if real else st.one_of(generated, odd)


HEADERS = st.fixed_dictionaries({}, optional={
    "Content-Type": st.sampled_from([
        "application/x-www-form-urlencoded", "application/json", "text/plain", "multipart/form-data",
        "multipart/form-data; boundary=x", "application/x-www-form-urlencoded; charset=latin-1",
        "application/json; charset=utf-16", "", "\xe9/\xe9",
    ]),
    "Cookie": st.one_of(HEADER_TEXT, st.just("idp_form=" + "x" * 4000), st.just("idp_session=\x00; idp_form=.")),
    "X-Request-ID": st.one_of(HEADER_TEXT, st.just("x" * 5000)),
    "Accept-Language": st.one_of(HEADER_TEXT, st.sampled_from(["hu", "en;q=abc", "*", ",,;q=", "x" * 500])),
    "Accept": st.sampled_from(["application/json", "text/html", "*/*", "\xe9"]),
})


def requests_for(world: World, rule: str, method: str):
    segments = [part[1:-1].split(":")[-1] for part in rule.split("/") if part.startswith("<")]

    @st.composite
    def build(draw):
        path = rule
        for name in segments:
            value = draw(world.segment(name))
            path = path.replace(f"<{name}>", value).replace(f"<path:{name}>", value)
        query = encode_pairs(draw(world.pairs()))
        body_kind = draw(st.sampled_from(["none", "form", "json", "raw"] if method != "GET" else ["none"]))
        headers = dict(draw(HEADERS))
        auth = draw(world.authorization())
        if auth is not None:
            headers["Authorization"] = auth
        environ = {}
        if draw(st.booleans()):
            environ["QUERY_STRING"] = draw(st.one_of(st.just(query), st.binary(max_size=60).map(
                lambda b: b.decode("latin-1"))))
            url = path
        else:
            url = f"{path}?{query}" if query else path
        body = None
        if body_kind == "form":
            body = encode_pairs(draw(world.pairs())).encode("ascii")
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        elif body_kind == "json":
            document = draw(st.recursive(
                st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | ANY_TEXT,
                lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
                    st.one_of(st.sampled_from(NAMES), ANY_TEXT), inner, max_size=6),
                max_leaves=12))
            body = json.dumps(document).encode("utf-8")
            headers.setdefault("Content-Type", "application/json")
        elif body_kind == "raw":
            body = draw(st.binary(max_size=200))
        return {"method": method, "path": url, "headers": headers, "data": body, "environ_overrides": environ}

    return build()


@pytest.fixture(scope="module")
def fuzz_app(_schema, database_url, keys_dir, tmp_path_factory):
    """One application for the whole fuzz (a fresh one per example would cost more than the
    requests), with limits that no fuzzing run reaches, so throttles do not hide deeper code."""
    settings_ = make_settings(database_url, keys_dir, mail={"outbox_dir": str(tmp_path_factory.mktemp("outbox"))},
                              security={"login_address_failures_before_block": 10**9,
                                        "login_account_failures_before_block": 10**9,
                                        "login_account_failures_per_day": 10**9,
                                        "client_auth_address_failures_before_block": 10**9,
                                        "client_auth_failures_before_block": 10**9})
    app = create_app(settings_)
    app.config["TESTING"] = True
    with app.app_context():
        yield app
        _db.session.remove()
        _empty_tables()
        _db.engine.dispose()


@pytest.fixture(scope="module")
def world(fuzz_app):
    return World(fuzz_app, fuzz_app.extensions["idp"])


def test_every_route_and_method_is_fuzzed(app):
    found = {}
    for rule in app.url_map.iter_rules():
        found.setdefault(rule.rule, set()).update(rule.methods - {"HEAD", "OPTIONS"})
    assert {k: sorted(v) for k, v in found.items()} == ROUTES


def assert_well_formed(response, path: str) -> None:
    where = f"{response.request.method} {path[:120]} -> {response.status_code}"
    assert response.status_code < 500, f"{where}: {response.get_data()[:300]!r}"
    if response.status_code < 400:
        return
    bare = response.request.path
    if bare in PROTOCOL or bare.startswith("/connect/register"):
        body = response.get_json(silent=True)
        assert isinstance(body, dict) and isinstance(body.get("error"), str), f"{where}: {response.get_data()[:300]!r}"
    elif bare.startswith("/static/"):
        return  # the static file server's own 404
    else:
        assert response.mimetype == "text/html", where
        assert b"</html>" in response.data, where


CASES = [(rule, method) for rule, methods in ROUTES.items() for method in [*methods, "PATCH"]]


@pytest.mark.parametrize("rule, method", CASES, ids=[f"{m} {r}" for r, m in CASES])
def test_no_request_is_answered_with_5xx(world, rule, method):
    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None, print_blob=True,
              suppress_health_check=list(HealthCheck))
    @given(request=requests_for(world, rule, method))
    def check(request):
        response = world.http.open(**request)
        try:
            assert_well_formed(response, request["path"])
        finally:
            response.close()

    check()
