"""Malformed input at every endpoint never answers 500 (issue 2, "Done means").

Protocol endpoints answer an RFC 6749/6750 JSON error with an OAuth error
code; pages answer an HTML page (or a redirect to a URI already validated for
the client). Each case is one request, named by what is wrong with it.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from ..support.factories import make_account, make_client
from ..support.flows import Agency, Citizen, csrf_of

OAUTH_ERRORS = {
    "invalid_request", "invalid_client", "invalid_grant", "unauthorized_client", "unsupported_grant_type",
    "invalid_scope", "invalid_token", "insufficient_scope", "unsupported_token_type", "access_denied",
    "unsupported_response_type", "login_required", "interaction_required", "consent_required",
    "request_not_supported", "request_uri_not_supported", "registration_not_supported",
    "invalid_client_metadata", "invalid_redirect_uri",
}
PROTOCOL = ("/token", "/userinfo", "/introspect", "/revoke", "/par")
REGISTRATION = "/connect/register"
HUGE = "x" * 70_000
LONG = "A" * 9_000
FORM = "application/x-www-form-urlencoded"


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


@dataclass
class Ctx:
    http: object
    agency: Agency
    basic: str
    login_csrf: str
    password_csrf: str

    def authorize_query(self, **overrides) -> str:
        params = self.agency.authorize_params(**overrides)
        return urlencode({k: v for k, v in params.items() if v is not None})


@pytest.fixture
def ctx(client, rt):
    c, secret = make_client(rt)
    agency = Agency(client, c, secret)
    login_csrf = csrf_of(client.get("/login").get_data(as_text=True))
    Citizen(client, rt, make_account(rt)).signed_in_quickly()
    password_csrf = csrf_of(client.get("/account/password").get_data(as_text=True))
    basic = "Basic " + b64(f"{c.client_id}:{secret}".encode())
    return Ctx(client, agency, basic, login_csrf, password_csrf)


def raw_query(ctx, path: str, query: bytes):
    return ctx.http.get(path, environ_overrides={"QUERY_STRING": query.decode("latin-1")})


def raw_form(ctx, path: str, body: bytes, **headers):
    return ctx.http.post(path, data=body, content_type=FORM, headers=headers)


CASES = {
    # /authorize, GET and POST
    "authorize-empty": lambda c: c.http.get("/authorize"),
    "authorize-unknown_client": lambda c: c.http.get("/authorize?client_id=nobody&response_type=code"),
    "authorize-huge_client_id": lambda c: c.http.get("/authorize?" + urlencode({"client_id": LONG})),
    "authorize-non_utf8": lambda c: raw_query(c, "/authorize", b"client_id=\xff\xfe&redirect_uri=%ff%fe"),
    "authorize-null_bytes": lambda c: c.http.get("/authorize?" + c.authorize_query(nonce="n\x00n", state="\x00")),
    "authorize-null_in_client_id": lambda c: c.http.get(
        "/authorize?" + c.authorize_query(client_id=c.agency.client.client_id + "\x00")),
    "authorize-repeated_client_id": lambda c: c.http.get(
        "/authorize?" + c.authorize_query() + "&client_id=other"),
    "authorize-repeated_redirect_uri": lambda c: c.http.get(
        "/authorize?" + c.authorize_query() + "&redirect_uri=https://evil.example/"),
    "authorize-repeated_nonce": lambda c: c.http.get("/authorize?" + c.authorize_query() + "&nonce=again"),
    "authorize-repeated_response_type": lambda c: c.http.get(
        "/authorize?" + c.authorize_query() + "&response_type=token"),
    "authorize-max_age_letters": lambda c: c.http.get("/authorize?" + c.authorize_query(max_age="soon")),
    "authorize-max_age_superscript": lambda c: c.http.get("/authorize?" + c.authorize_query(max_age="²")),
    "authorize-max_age_huge": lambda c: c.http.get("/authorize?" + c.authorize_query(max_age="9" * 40)),
    "authorize-max_age_negative": lambda c: c.http.get("/authorize?" + c.authorize_query(max_age="-1")),
    "authorize-claims_not_json": lambda c: c.http.get("/authorize?" + c.authorize_query(claims="{oops")),
    "authorize-claims_list": lambda c: c.http.get("/authorize?" + c.authorize_query(claims="[1, 2]")),
    "authorize-claims_acr_values_number": lambda c: c.http.get("/authorize?" + c.authorize_query(
        claims=json.dumps({"id_token": {"acr": {"essential": True, "values": 5}}}))),
    "authorize-claims_acr_values_objects": lambda c: c.http.get("/authorize?" + c.authorize_query(
        claims=json.dumps({"id_token": {"acr": {"essential": True, "values": [{}], "value": []}}}))),
    "authorize-claims_deep": lambda c: c.http.get("/authorize?" + c.authorize_query(claims="[" * 5000 + "]" * 5000)),
    "authorize-id_token_hint_garbage": lambda c: c.http.get(
        "/authorize?" + c.authorize_query(id_token_hint="a.b.c")),
    "authorize-id_token_hint_none_alg": lambda c: c.http.get(
        "/authorize?" + c.authorize_query(id_token_hint="eyJhbGciOiJub25lIn0.e30.")),
    "authorize-id_token_hint_huge": lambda c: c.http.get("/authorize?" + c.authorize_query(id_token_hint=LONG)),
    "authorize-prompt_unknown": lambda c: c.http.get("/authorize?" + c.authorize_query(prompt="select_account")),
    "authorize-response_mode_unknown": lambda c: c.http.get(
        "/authorize?" + c.authorize_query(response_mode="fragment")),
    "authorize-code_challenge_huge": lambda c: c.http.get("/authorize?" + c.authorize_query(code_challenge=LONG)),
    "authorize-scope_huge": lambda c: c.http.get("/authorize?" + c.authorize_query(scope="openid " + "x " * 3000)),
    "authorize-acr_values_huge": lambda c: c.http.get("/authorize?" + c.authorize_query(acr_values=LONG)),
    "authorize-ui_locales_odd": lambda c: c.http.get("/authorize?" + c.authorize_query(ui_locales="--- \x00 é")),
    "authorize-post_json": lambda c: c.http.post("/authorize", json=c.agency.authorize_params()),
    "authorize-post_form": lambda c: c.http.post("/authorize", data=c.agency.authorize_params(max_age="x")),
    "authorize-post_decision_without_csrf": lambda c: c.http.post(
        "/authorize", data={**c.agency.authorize_params(), "decision": "allow"}),
    "authorize-post_non_utf8": lambda c: raw_form(c, "/authorize", b"client_id=\xff&response_type=\xfe"),
    "authorize-post_huge_body": lambda c: c.http.post("/authorize", data={"client_id": HUGE}),
    "authorize-delete": lambda c: c.http.delete("/authorize"),
    # /token
    "token-empty": lambda c: c.http.post("/token"),
    "token-no_grant_type": lambda c: c.http.post("/token", data={"code": "x"}, headers={"Authorization": c.basic}),
    "token-unknown_grant_type": lambda c: c.http.post(
        "/token", data={"grant_type": "password", "username": "a", "password": "b"}, headers={"Authorization": c.basic}),
    "token-repeated_grant_type": lambda c: raw_form(
        c, "/token", b"grant_type=authorization_code&grant_type=refresh_token&code=x", Authorization=c.basic),
    "token-huge_code": lambda c: c.http.post(
        "/token", data={"grant_type": "authorization_code", "code": LONG}, headers={"Authorization": c.basic}),
    "token-null_code": lambda c: c.http.post("/token", data={
        "grant_type": "authorization_code", "code": "\x00", "redirect_uri": "\x00", "code_verifier": "\x00"},
        headers={"Authorization": c.basic}),
    "token-huge_refresh": lambda c: c.http.post(
        "/token", data={"grant_type": "refresh_token", "refresh_token": LONG}, headers={"Authorization": c.basic}),
    "token-json_body": lambda c: c.http.post(
        "/token", json={"grant_type": "authorization_code", "code": "x"}, headers={"Authorization": c.basic}),
    "token-non_utf8": lambda c: raw_form(c, "/token", b"grant_type=\xff\xfe&code=\x80", Authorization=c.basic),
    "token-huge_body": lambda c: c.http.post("/token", data={"grant_type": "authorization_code", "code": HUGE}),
    "token-basic_garbage": lambda c: c.http.post(
        "/token", data={"grant_type": "authorization_code", "code": "x"}, headers={"Authorization": "Basic !!!"}),
    "token-basic_no_colon": lambda c: c.http.post(
        "/token", data={"grant_type": "authorization_code"}, headers={"Authorization": "Basic " + b64(b"nocolon")}),
    "token-basic_non_utf8": lambda c: c.http.post(
        "/token", data={"grant_type": "authorization_code"}, headers={"Authorization": "Basic " + b64(b"\xff:\xfe")}),
    "token-basic_null_client": lambda c: c.http.post(
        "/token", data={"grant_type": "authorization_code"}, headers={"Authorization": "Basic " + b64(b"a\x00:b")}),
    "token-basic_huge": lambda c: c.http.post(
        "/token", data={"grant_type": "authorization_code"}, headers={"Authorization": "Basic " + b64(b"a" * 6000)}),
    "token-bearer_empty": lambda c: c.http.post(
        "/token", data={"grant_type": "authorization_code"}, headers={"Authorization": "Bearer"}),
    "token-post_secret_huge": lambda c: c.http.post("/token", data={
        "grant_type": "authorization_code", "client_id": LONG, "client_secret": LONG}),
    "token-client_assertion_garbage": lambda c: c.http.post("/token", data={
        "grant_type": "authorization_code", "code": "x", "client_id": c.agency.client.client_id,
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": "a.b.c"}),
    "token-client_assertion_none_alg": lambda c: c.http.post("/token", data={
        "grant_type": "authorization_code", "code": "x",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."}),
    "token-get": lambda c: c.http.get("/token"),
    "token-put": lambda c: c.http.put("/token"),
    # /userinfo
    "userinfo-no_authorization": lambda c: c.http.get("/userinfo"),
    "userinfo-bearer_no_token": lambda c: c.http.get("/userinfo", headers={"Authorization": "Bearer"}),
    "userinfo-bearer_space": lambda c: c.http.get("/userinfo", headers={"Authorization": "Bearer "}),
    "userinfo-bearer_two_words": lambda c: c.http.get("/userinfo", headers={"Authorization": "Bearer a b"}),
    "userinfo-bearer_long": lambda c: c.http.get("/userinfo", headers={"Authorization": "Bearer " + LONG}),
    "userinfo-bearer_latin1": lambda c: c.http.get("/userinfo", headers={"Authorization": "Bearer \xe9\xff"}),
    "userinfo-basic_garbage": lambda c: c.http.get("/userinfo", headers={"Authorization": "Basic !!!"}),
    "userinfo-unknown_scheme": lambda c: c.http.get("/userinfo", headers={"Authorization": "Negotiate abc"}),
    "userinfo-post_form_token": lambda c: c.http.post("/userinfo", data={"access_token": LONG}),
    "userinfo-post_repeated_token": lambda c: raw_form(c, "/userinfo", b"access_token=a&access_token=b"),
    "userinfo-post_json": lambda c: c.http.post("/userinfo", json={"access_token": "x"}),
    "userinfo-post_non_utf8": lambda c: raw_form(c, "/userinfo", b"access_token=\xff\xfe"),
    "userinfo-delete": lambda c: c.http.delete("/userinfo"),
    # /introspect and /revoke
    **{f"{name}-{what}": (lambda n, f: (lambda c: f(c, "/" + n)))(name, fn) for name in ("introspect", "revoke")
       for what, fn in {
           "no_auth": lambda c, p: c.http.post(p, data={"token": "x"}),
           "basic_garbage": lambda c, p: c.http.post(p, data={"token": "x"}, headers={"Authorization": "Basic !!!"}),
           "bearer_empty": lambda c, p: c.http.post(p, data={"token": "x"}, headers={"Authorization": "Bearer"}),
           "no_token": lambda c, p: c.http.post(p, headers={"Authorization": c.basic}),
           "huge_token": lambda c, p: c.http.post(p, data={"token": LONG}, headers={"Authorization": c.basic}),
           "null_token": lambda c, p: c.http.post(p, data={"token": "\x00", "token_type_hint": "\x00"},
                                                  headers={"Authorization": c.basic}),
           "odd_hint": lambda c, p: c.http.post(p, data={"token": "x", "token_type_hint": "id_token"},
                                                headers={"Authorization": c.basic}),
           "repeated_token": lambda c, p: raw_form(c, p, b"token=a&token=b", Authorization=c.basic),
           "json_body": lambda c, p: c.http.post(p, json={"token": "x"}, headers={"Authorization": c.basic}),
           "non_utf8": lambda c, p: raw_form(c, p, b"token=\xff\xfe", Authorization=c.basic),
           "basic_non_utf8": lambda c, p: c.http.post(p, data={"token": "x"},
                                                      headers={"Authorization": "Basic " + b64(b"\xff:\xfe")}),
           "null_client_post": lambda c, p: c.http.post(p, data={"token": "x", "client_id": "a\x00",
                                                                 "client_secret": "b"}),
           "get": lambda c, p: c.http.get(p),
       }.items()},
    # /connect/register (RFC 7591) and /connect/register/<client_id> (RFC 7592)
    "register-no_token": lambda c: c.http.post(REGISTRATION, json={"redirect_uris": ["https://a.example/cb"]}),
    "register-bearer_empty": lambda c: c.http.post(REGISTRATION, json={}, headers={"Authorization": "Bearer"}),
    "register-bearer_huge": lambda c: c.http.post(REGISTRATION, json={}, headers={"Authorization": "Bearer " + LONG}),
    "register-bearer_latin1": lambda c: c.http.post(REGISTRATION, json={}, headers={"Authorization": "Bearer \xe9\xff"}),
    "register-bearer_base64_garbage": lambda c: c.http.post(
        REGISTRATION, json={}, headers={"Authorization": "Bearer " + b64(b"\xff\xfe\x00")}),
    "register-form_body": lambda c: c.http.post(REGISTRATION, data={"redirect_uris": "x"}),
    "register-huge_body": lambda c: c.http.post(REGISTRATION, data=HUGE, content_type="application/json"),
    "register-get": lambda c: c.http.get(REGISTRATION),
    "configure-no_token": lambda c: c.http.get(REGISTRATION + "/nobody"),
    "configure-huge_client_id": lambda c: c.http.get(REGISTRATION + "/" + LONG, headers={"Authorization": "Bearer x"}),
    "configure-null_client_id": lambda c: c.http.get(REGISTRATION + "/a%00b", headers={"Authorization": "Bearer x"}),
    "configure-put_not_json": lambda c: c.http.put(REGISTRATION + "/x", data=b"\xff{", headers={"Authorization": "Bearer x"}),
    "configure-post": lambda c: c.http.post(REGISTRATION + "/x", json={}),
    # An Authorization header whose scheme carries no credentials, or credentials that are not
    # base64 of "id:secret" in UTF-8, at every endpoint that reads one (issue 10).
    **{f"{name}-authorization_{what}": (lambda p, h: (lambda c: c.http.post(p, data={"token": "x"}, headers={
        "Authorization": h})))(path, header)
       for name, path in {"token": "/token", "introspect": "/introspect", "revoke": "/revoke", "par": "/par",
                          "userinfo": "/userinfo"}.items()
       for what, header in {
           "basic_space": "Basic ", "bearer_space": "Bearer ", "basic_spaces": "Basic    ", "basic_tab": "Basic\t",
           "basic_bad_base64": "Basic a", "basic_non_ascii": "Basic \xe9t\xe9", "basic_no_colon": "Basic " + b64(b"x"),
           "basic_non_utf8": "Basic " + b64(b"\xff\xfe:\xfd"), "basic_empty_id": "Basic " + b64(b":secret"),
           "basic_empty_secret": "Basic " + b64(b"id:"), "basic_percent": "Basic " + b64(b"%ff%fe:%zz"),
           "basic_null": "Basic " + b64(b"\x00:\x00"), "scheme_only_odd": "\xe9",
       }.items()},
    "par-basic_space_with_request": lambda c: c.http.post("/par", data=c.agency.authorize_params(),
                                                          headers={"Authorization": "Basic "}),
    "register-basic_space": lambda c: c.http.post(REGISTRATION, json={}, headers={"Authorization": "Basic "}),
    "register-bearer_space": lambda c: c.http.post(REGISTRATION, json={}, headers={"Authorization": "Bearer "}),
    "register-basic_non_ascii": lambda c: c.http.post(REGISTRATION, json={}, headers={"Authorization": "Basic \xe9"}),
    **{f"configure-{method}_{what}": (lambda m, h: (lambda c: c.http.open(
        REGISTRATION + "/someone", method=m, json={}, headers={"Authorization": h})))(method, header)
       for method in ("get", "put", "delete")
       for what, header in {"basic_space": "Basic ", "bearer_space": "Bearer ", "bearer_tab": "Bearer\t",
                            "non_ascii": "Bearer \xe9\xff", "basic_no_colon": "Basic " + b64(b"x")}.items()},
    # Characters Authlib refuses in an error description, in every parameter that could be echoed.
    **{f"authorize-{param}_{what}": (lambda p, v: (lambda c: c.http.get("/authorize?" + c.authorize_query(**{p: v}))))(
        param, value)
       for param in ("response_type", "redirect_uri", "scope", "code_challenge_method", "response_mode", "prompt",
                     "client_id", "state", "nonce", "code_challenge", "max_age", "acr_values", "claims")
       for what, value in {"backslash": "a\\b", "quote": 'co"de', "non_ascii": "k\xf3d", "control": "a\x01b",
                           "newline": "a\r\nb"}.items()},
    "authorize-response_type_quote_unknown_client": lambda c: c.http.get('/authorize?client_id=x&response_type=%22'),
    "authorize-post_response_type_backslash": lambda c: c.http.post(
        "/authorize", data=c.agency.authorize_params(response_type="\\")),
    "par-response_type_quote": lambda c: c.http.post(
        "/par", data=c.agency.authorize_params(response_type='"\\\xe9'), headers={"Authorization": c.basic}),
    "par-redirect_uri_quote": lambda c: c.http.post(
        "/par", data=c.agency.authorize_params(redirect_uri='https://x.example/"\\'),
        headers={"Authorization": c.basic}),
    # Found by tests/web/test_fuzz.py: Flask-WTF filled page forms from a JSON body, and a malformed one
    # raised BadRequest while the error page built its own forms.
    "office-post_empty_json": lambda c: c.http.post("/office/accounts/0", data=b"", content_type="application/json"),
    "login-post_bad_json": lambda c: c.http.post("/login", data=b"{", content_type="application/json"),
    "password-post_json_list": lambda c: c.http.post("/account/password", data=b"[1]", content_type="application/json"),
    "office-post_huge_body": lambda c: c.http.post("/office/accounts/0", data={"x": HUGE}),
    "office-post_huge_body_with_csrf": lambda c: c.http.post("/office/registrations/1", data={
        "csrf_token": c.login_csrf, "x": HUGE}),
    "par-get": lambda c: c.http.get("/par"),
    "par-huge_query": lambda c: c.http.post("/par?" + urlencode({"\x00": HUGE})),
    # Found by tests/web/test_fuzz.py: the language links passed the query to url_for beside the path's
    # variables, so a query parameter named like one (or "endpoint") raised while the page rendered.
    "interaction-query_names_the_path_variable": lambda c: c.http.get("/interaction/abc?uid=x"),
    "office-query_names_the_path_variable": lambda c: c.http.post("/office/accounts/UK-A?identifier=x"),
    "home-query_endpoint": lambda c: c.http.get("/?endpoint=x"),
    "login-query_url_for_options": lambda c: c.http.get("/login?_external=1&_scheme=javascript&_anchor=x"),
    # /end-session
    "end_session-hint_garbage": lambda c: c.http.get("/end-session?id_token_hint=a.b.c"),
    "end_session-hint_none_alg": lambda c: c.http.get("/end-session?id_token_hint=eyJhbGciOiJub25lIn0.e30."),
    "end_session-hint_huge": lambda c: c.http.get("/end-session?" + urlencode({"id_token_hint": LONG})),
    "end_session-hint_null": lambda c: c.http.get("/end-session?" + urlencode({"id_token_hint": "\x00"})),
    "end_session-unknown_client": lambda c: c.http.get("/end-session?client_id=nobody&post_logout_redirect_uri=x"),
    "end_session-null_client": lambda c: c.http.get("/end-session?" + urlencode({"client_id": "a\x00"})),
    "end_session-huge_client_id": lambda c: c.http.get("/end-session?" + urlencode({"client_id": LONG})),
    "end_session-repeated": lambda c: c.http.get("/end-session?state=a&state=b&client_id=x&client_id=y"),
    "end_session-non_utf8": lambda c: raw_query(c, "/end-session", b"state=\xff&post_logout_redirect_uri=\xfe"),
    "end_session-post_json": lambda c: c.http.post("/end-session", json={"id_token_hint": "x"}),
    "end_session-confirm_no_csrf": lambda c: c.http.post("/end-session", data={"confirm": "yes"}),
    "end_session-put": lambda c: c.http.put("/end-session"),
    "end_session-post_huge_body": lambda c: c.http.post("/end-session", data={"id_token_hint": HUGE}),
    # /login
    "login-next_huge": lambda c: c.http.get("/login?" + urlencode({"next": "/" + LONG})),
    "login-next_non_utf8": lambda c: raw_query(c, "/login", b"next=/\xff\xfe"),
    "login-next_null": lambda c: c.http.get("/login?" + urlencode({"next": "/\x00"})),
    "login-post_json": lambda c: c.http.post("/login", json={"username": "a", "password": "b"}),
    "login-post_null_bytes": lambda c: c.http.post("/login", data={
        "csrf_token": c.login_csrf, "username": "a\x00b", "password": "\x00", "next": "/\x00"}),
    "login-post_huge_username": lambda c: c.http.post("/login", data={
        "csrf_token": c.login_csrf, "username": LONG, "password": "x"}),
    "login-post_huge_password": lambda c: c.http.post("/login", data={
        "csrf_token": c.login_csrf, "username": "a", "password": "p" * 60_000}),
    "login-post_repeated": lambda c: raw_form(
        c, "/login", f"csrf_token={c.login_csrf}&username=a&username=b&password=x&password=y".encode()),
    "login-post_non_utf8": lambda c: raw_form(
        c, "/login", f"csrf_token={c.login_csrf}&username=".encode() + b"\xff\xfe&password=\x80"),
    "login-post_garbage_csrf": lambda c: c.http.post("/login", data={"csrf_token": "!!!", "username": "a"}),
    "login-post_huge_body": lambda c: c.http.post("/login", data={"csrf_token": c.login_csrf, "password": HUGE}),
    "login-next_raw_bytes_in_form": lambda c: raw_form(c, "/login", b"next=/\xff&username=\xfe"),
    "login-delete": lambda c: c.http.delete("/login"),
    # /account/password (signed in)
    "password-post_null_bytes": lambda c: c.http.post("/account/password", data={
        "csrf_token": c.password_csrf, "current_password": "\x00", "new_password": "\x00" * 20,
        "confirm_password": "\x00" * 20}),
    "password-post_huge": lambda c: c.http.post("/account/password", data={
        "csrf_token": c.password_csrf, "current_password": LONG, "new_password": LONG, "confirm_password": LONG}),
    "password-post_non_utf8": lambda c: raw_form(
        c, "/account/password", f"csrf_token={c.password_csrf}&current_password=".encode() + b"\xff"),
    "password-post_json": lambda c: c.http.post("/account/password", json={"new_password": "x"}),
    "password-next_huge": lambda c: c.http.get("/account/password?" + urlencode({"next": "/" + LONG})),
    "password-put": lambda c: c.http.put("/account/password"),
    # Discovery and keys
    "discovery-junk_query": lambda c: raw_query(c, "/.well-known/openid-configuration", b"\xff=\x00&a=" + b"b" * 9000),
    "discovery-post": lambda c: c.http.post("/.well-known/openid-configuration", json={}),
    "jwks-junk_query": lambda c: raw_query(c, "/jwks.json", b"kid=\xff\xfe"),
    "jwks-delete": lambda c: c.http.delete("/jwks.json"),
    # Elsewhere
    "logout-get": lambda c: c.http.get("/logout"),
    "unknown-path": lambda c: c.http.get("/no/such/page"),
    "unknown-traversal": lambda c: c.http.get("/static/../../idp/app.py"),
    "unknown-null": lambda c: c.http.get("/%00"),
    "interaction-null_uid": lambda c: c.http.get("/interaction/%00/login"),
    "interaction-null_resume": lambda c: c.http.get("/interaction/a%00b"),
    "office-null_identifier": lambda c: c.http.get("/office/accounts/%00/delete"),
    "unknown-long_path": lambda c: c.http.get("/" + "a" * 9000),
    "unknown-non_utf8_path": lambda c: c.http.get("/", environ_overrides={"PATH_INFO": "/\xff\xfe"}),
    "home-lang_garbage": lambda c: c.http.get("/?lang=\x00", headers={"Accept-Language": "\xff;q=abc,,;"}),
}


def assert_protocol_answer(response, path: str):
    if response.status_code in (200, 204) and path in ("/introspect", "/revoke"):
        return
    assert response.status_code >= 400
    body = response.get_json(silent=True)
    if (path == "/userinfo" or path.startswith(REGISTRATION)) and response.status_code == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert isinstance(body, dict), response.get_data()[:200]
    assert body.get("error") in OAUTH_ERRORS, body
    if path == "/userinfo" and response.status_code != 405:  # RFC 6750 §3.1's codes, each with its challenge
        assert body["error"] in ("invalid_request", "invalid_token", "insufficient_scope"), body
        assert response.headers["WWW-Authenticate"].startswith("Bearer realm=")


def assert_page_answer(ctx, response):
    if response.status_code in (301, 302, 303):
        location = response.headers["Location"]
        if urlsplit(location).netloc not in ("", "localhost"):  # only to the client's validated URI
            assert location.startswith(ctx.agency.redirect_uri + "?"), location
            params = parse_qs(urlsplit(location).query)
            assert "code" in params or params["error"][0] in OAUTH_ERRORS, params
        return
    if response.mimetype == "application/json":  # discovery and JWKS answer JSON
        assert urlsplit(response.request.path).path in ("/.well-known/openid-configuration", "/jwks.json")
        return
    assert response.mimetype == "text/html", response.mimetype
    assert b"</html>" in response.data


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_malformed_request_is_answered_without_500(case, ctx):
    response = case(ctx)
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    path = response.request.path
    if path in PROTOCOL or path.startswith(REGISTRATION):
        assert_protocol_answer(response, path)
    else:
        assert_page_answer(ctx, response)


@pytest.mark.parametrize("path", ["/token", "/introspect", "/revoke", "/par"])
@pytest.mark.parametrize("header", ["Basic ", "Basic \xe9", "Basic " + b64(b"nocolon"), "Basic " + b64(b"\xff:\xfe")])
def test_basic_header_without_usable_credentials_is_an_unauthenticated_client(client, agency, path, header):
    data = {"grant_type": "authorization_code", "code": "x", "token": "x"} if path != "/par" else agency.authorize_params()
    response = client.post(path, data=data, headers={"Authorization": header})
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_client"


@pytest.mark.parametrize("value", ['co"de', "a\\b", "k\xf3d", "token id_token"])
def test_an_unsupported_response_type_goes_back_to_the_agency_without_echoing_it(client, agency, value):
    response = agency.authorize(response_type=value)
    assert response.status_code == 302
    params = parse_qs(urlsplit(response.headers["Location"]).query)
    assert params["error"] == ["unsupported_response_type"]
    assert params["state"] == [agency.state]
    assert value not in response.headers["Location"] and value not in " ".join(params.get("error_description", []))


def test_an_unregistered_redirect_uri_is_not_echoed_and_not_followed(client, agency):
    response = agency.authorize(redirect_uri='https://evil.example/"\\\xe9')
    assert response.status_code == 400 and "Location" not in response.headers
    assert b"invalid_request" in response.data  # the page names the code only (the language links keep the query)


def test_the_language_links_keep_the_query_and_stay_on_this_site(client):
    html = client.get("/login?next=/account&_external=1&_scheme=javascript&endpoint=x").get_data(as_text=True)
    links = [line for line in html.splitlines() if "lang=en" in line]
    assert links, html[:500]
    for line in links:
        href = line.split('href="')[1].split('"')[0]
        assert href.startswith("/login?") and "javascript:" not in href, href
        assert "next=%2Faccount" in href.replace("&amp;", "&"), href
