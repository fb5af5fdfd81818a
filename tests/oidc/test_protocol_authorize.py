"""The authorization endpoint: what it refuses, where it sends errors, and how prompts steer it.

OIDC Core §3.1.2, RFC 6749 §4.1.2.1 (never redirect to an unvalidated URI),
RFC 9207 (``iss``), RFC 7636 with S256 only, OAuth 2.0 Form Post Response Mode.
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from ..support.factories import make_account, make_client
from ..support.flows import Agency, Citizen
from ..support.protocol import (
    assert_error_page,
    csp_directive,
    form_action,
    hidden_inputs,
    id_token_claims,
    login_location,
    page_location,
    redirected_params,
    resume_of,
)

REDIRECT = "https://agency.example.hu/callback"


@pytest.fixture
def agency(client, rt):
    c, secret = make_client(rt, redirect_uri=REDIRECT)
    return Agency(client, c, secret)


def error_of(agency, response) -> dict[str, str]:
    return redirected_params(response, agency.redirect_uri)


def assert_redirected_error(agency, rt, response, error: str, *, with_state: bool = True) -> dict:
    params = error_of(agency, response)
    assert params["error"] == error, params
    assert params["iss"] == rt.issuer
    assert "code" not in params
    if with_state:
        assert params["state"] == agency.state
    return params


# -- Errors that must never be redirected --------------------------------------------------------


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"client_id": "no-such-client"}, id="unknown_client"),
        pytest.param({"client_id": None}, id="missing_client_id"),
        pytest.param({"redirect_uri": None}, id="missing_redirect_uri"),
        pytest.param({"redirect_uri": "https://evil.example/callback"}, id="unregistered_redirect_uri"),
        pytest.param({"redirect_uri": REDIRECT + "/more"}, id="redirect_uri_path_suffix"),
        pytest.param({"redirect_uri": REDIRECT + "?next=https://evil.example"}, id="redirect_uri_extra_query"),
        pytest.param({"redirect_uri": REDIRECT.replace("https", "http")}, id="redirect_uri_other_scheme"),
        pytest.param({"redirect_uri": "https://evil.example/callback", "response_type": "token"},
                     id="unregistered_redirect_uri_with_bad_response_type"),
        pytest.param({"redirect_uri": "https://evil.example/callback", "prompt": "none"},
                     id="unregistered_redirect_uri_with_prompt_none"),
    ],
)
def test_unvalidated_redirect_gets_error_page_not_redirect(agency, overrides):
    assert_error_page(agency.authorize(**overrides))


def test_unvalidated_redirect_error_page_even_for_signed_in_citizen(citizen, agency):
    citizen.signed_in_quickly()
    assert_error_page(agency.authorize(redirect_uri="https://evil.example/callback", state="s"))


# -- Errors redirected to the validated redirect URI ---------------------------------------------


@pytest.mark.parametrize("response_type", ["token", "id_token", "code id_token", "code token", "none"])
def test_other_response_types_refused(agency, rt, response_type):
    response = agency.authorize(response_type=response_type)
    assert_redirected_error(agency, rt, response, "unsupported_response_type")


@pytest.mark.parametrize(
    "overrides, error",
    [
        pytest.param({"code_challenge": None, "code_challenge_method": None}, "invalid_request", id="pkce_missing"),
        pytest.param({"code_challenge_method": "plain"}, "invalid_request", id="pkce_plain"),
        pytest.param({"code_challenge_method": None}, "invalid_request", id="pkce_method_missing"),
        pytest.param({"nonce": None}, "invalid_request", id="nonce_missing"),
        pytest.param({"prompt": "select_account"}, "invalid_request", id="prompt_unknown"),
        pytest.param({"prompt": "none login"}, "invalid_request", id="prompt_none_with_login"),
        pytest.param({"prompt": "consent none"}, "invalid_request", id="prompt_none_with_consent"),
        pytest.param({"response_mode": "fragment"}, "invalid_request", id="response_mode_fragment"),
        pytest.param({"response_mode": "web_message"}, "invalid_request", id="response_mode_unknown"),
        pytest.param({"max_age": "-5"}, "invalid_request", id="max_age_negative"),
        pytest.param({"max_age": "soon"}, "invalid_request", id="max_age_not_a_number"),
        pytest.param({"request": "eyJhbGciOiJub25lIn0.e30."}, "request_not_supported", id="request_object"),
        pytest.param({"request_uri": "https://agency.example.hu/r/1"}, "request_uri_not_supported", id="request_uri"),
        pytest.param({"registration": "{}"}, "registration_not_supported", id="registration"),
        pytest.param({"scope": "profile email"}, "invalid_scope", id="openid_scope_missing"),
    ],
)
def test_malformed_request_redirects_error_with_state_and_iss(agency, rt, overrides, error):
    assert_redirected_error(agency, rt, agency.authorize(**overrides), error)


@pytest.mark.parametrize("signed_in", [False, True], ids=["no_session", "with_session"])
def test_missing_state_is_invalid_request(citizen, agency, rt, signed_in):
    if signed_in:
        citizen.signed_in_quickly()
    params = error_of(agency, agency.authorize(state=None))
    assert params["error"] == "invalid_request"
    assert "state" not in params and "code" not in params


def test_repeated_parameter_is_invalid_request(agency, rt):
    agency.authorize_params()
    query = urlencode(list(agency.last_params.items()) + [("code_challenge", "x" * 43)])
    assert_redirected_error(agency, rt, agency.http.get("/authorize?" + query), "invalid_request")


# -- prompt=none ---------------------------------------------------------------------------------


def test_prompt_none_without_session_is_login_required(agency, rt):
    assert_redirected_error(agency, rt, agency.authorize(prompt="none"), "login_required")


def test_prompt_none_without_consent_is_consent_required(citizen, agency, rt):
    citizen.signed_in_quickly()
    assert_redirected_error(agency, rt, agency.authorize(prompt="none"), "consent_required")


def test_prompt_none_with_session_and_consent_issues_code(citizen, agency):
    citizen.signed_in_quickly()
    agency.get_code()
    assert agency.code_from(agency.authorize(prompt="none"))


def test_prompt_none_with_new_scope_is_consent_required(citizen, agency, rt):
    citizen.signed_in_quickly()
    agency.get_code(scope="openid profile")
    assert_redirected_error(agency, rt, agency.authorize(prompt="none", scope="openid profile address"),
                            "consent_required")


def test_prompt_none_with_id_token_hint_of_another_citizen_is_login_required(app, rt, agency):
    other = Citizen(app.test_client(), rt, make_account(rt))
    other.signed_in_quickly()
    other_agency = Agency(other.http, agency.client, agency.secret)
    hint = other_agency.tokens()["id_token"]

    me = Citizen(agency.http, rt, make_account(rt))
    me.signed_in_quickly()
    agency.get_code()
    assert_redirected_error(agency, rt, agency.authorize(prompt="none", id_token_hint=hint), "login_required")


def test_prompt_none_with_own_id_token_hint_issues_code(citizen, agency):
    citizen.signed_in_quickly()
    hint = agency.tokens()["id_token"]
    assert agency.code_from(agency.authorize(prompt="none", id_token_hint=hint))


@pytest.mark.parametrize("signed_in", [True, False], ids=["with_session", "no_session"])
@pytest.mark.parametrize(
    "hint",
    ["not-a-jwt", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", "a.b.c"],
    ids=["garbage", "unsigned_jwt", "three_dots"],
)
def test_garbage_id_token_hint_is_invalid_request(citizen, agency, rt, hint, signed_in):
    if signed_in:
        citizen.signed_in_quickly()
    assert_redirected_error(agency, rt, agency.authorize(id_token_hint=hint), "invalid_request")


# -- Re-authentication: prompt=login and max_age -------------------------------------------------


def sign_in_again(citizen, response):
    """Follow a request sent to its interaction's sign-in page: sign in there, then resume it."""
    login = login_location(response)
    back = citizen.sign_in_at(login)
    assert back.status_code == 303 and back.headers["Location"] == resume_of(login)
    return citizen.http.get(resume_of(login))


def test_prompt_login_forces_sign_in_and_new_session(citizen, agency, rt):
    citizen.signed_in_quickly()
    first = id_token_claims(rt, agency.tokens()["id_token"])

    rt.clock.advance(seconds=120)
    response = agency.authorize(prompt="login")
    code = agency.code_from(sign_in_again(citizen, response))
    token = agency.exchange(code)
    assert token.status_code == 200, token.get_json()
    second = id_token_claims(rt, token.get_json()["id_token"])
    assert second["sid"] != first["sid"]
    assert second["auth_time"] == first["auth_time"] + 120


def test_max_age_exceeded_forces_sign_in(citizen, agency, rt):
    citizen.signed_in_quickly()
    first = id_token_claims(rt, agency.tokens()["id_token"])
    rt.clock.advance(seconds=301)
    response = agency.authorize(max_age="300")
    code = agency.code_from(sign_in_again(citizen, response))
    claims = id_token_claims(rt, agency.exchange(code).get_json()["id_token"])
    assert claims["auth_time"] == first["auth_time"] + 301


def test_max_age_zero_always_forces_sign_in(citizen, agency, rt):
    citizen.signed_in_quickly()
    agency.get_code()
    rt.clock.advance(seconds=1)
    code = agency.code_from(sign_in_again(citizen, agency.authorize(max_age="0")))
    assert agency.exchange(code).status_code == 200


def test_max_age_exceeded_with_prompt_none_is_login_required(citizen, agency, rt):
    citizen.signed_in_quickly()
    agency.get_code()
    rt.clock.advance(seconds=301)
    assert_redirected_error(agency, rt, agency.authorize(max_age="300", prompt="none"), "login_required")


def test_max_age_not_exceeded_issues_code_directly(citizen, agency, rt):
    citizen.signed_in_quickly()
    first = id_token_claims(rt, agency.tokens()["id_token"])
    rt.clock.advance(seconds=200)
    code = agency.code_from(agency.authorize(max_age="300"))
    claims = id_token_claims(rt, agency.exchange(code).get_json()["id_token"])
    assert claims["auth_time"] == first["auth_time"]


def test_prompt_login_resume_step_yields_no_code_without_a_fresh_sign_in(citizen, agency, rt):
    """Security finding 2: whoever holds the browser's session opens the resume step instead of
    signing in. The interaction keeps the requirement: a sign-in begun after the request arrived."""
    citizen.signed_in_quickly()
    agency.get_code()
    rt.clock.advance(seconds=60)
    resume = resume_of(login_location(agency.authorize(prompt="login")))
    rt.clock.advance(seconds=5)
    assert login_location(citizen.http.get(resume))  # sent to sign in again, no code


@pytest.mark.parametrize("max_age", ["0", "30"])
def test_max_age_resume_step_yields_no_code_without_a_fresh_sign_in(citizen, agency, rt, max_age):
    citizen.signed_in_quickly()
    agency.get_code()
    rt.clock.advance(seconds=60)
    resume = resume_of(login_location(agency.authorize(max_age=max_age)))
    rt.clock.advance(seconds=5)
    assert login_location(citizen.http.get(resume))


def test_replayed_resume_step_after_the_sign_in_yields_no_second_code(citizen, agency, rt):
    citizen.signed_in_quickly()
    agency.get_code()
    rt.clock.advance(seconds=60)
    response = agency.authorize(prompt="login")
    resume = resume_of(login_location(response))
    assert agency.code_from(sign_in_again(citizen, response))
    replay = citizen.http.get(resume)
    assert replay.status_code == 410 and "Location" not in replay.headers


def test_a_sign_in_page_of_another_request_does_not_satisfy_prompt_login(citizen, agency, rt):
    """A sign-in made for one request is not a sign-in after another request that asked later."""
    citizen.signed_in_quickly()
    agency.get_code()
    rt.clock.advance(seconds=60)
    first = login_location(agency.authorize(prompt="login"))
    citizen.sign_in_at(first)
    rt.clock.advance(seconds=60)
    assert login_location(agency.authorize(prompt="login"))


# -- Consent -------------------------------------------------------------------------------------


def is_consent_page(response) -> bool:
    return response.status_code == 200 and b'name="decision"' in response.data


def test_prompt_consent_asks_again_after_consent_was_given(citizen, agency):
    citizen.signed_in_quickly()
    agency.get_code()
    assert not is_consent_page(agency.visit())
    page = agency.visit(prompt="consent")
    assert is_consent_page(page)
    assert agency.code_from(agency.follow(agency.consent(page)))


def test_deny_returns_access_denied(citizen, agency, rt):
    citizen.signed_in_quickly()
    page = agency.visit()
    assert is_consent_page(page)
    assert_redirected_error(agency, rt, agency.consent(page, decision="deny"), "access_denied")
    assert is_consent_page(agency.visit()), "a denial is not remembered as consent"


def test_consent_decision_without_csrf_token_is_refused(citizen, agency):
    citizen.signed_in_quickly()
    consent = page_location(agency.authorize(), "consent")
    response = agency.http.post(consent, data={"decision": "allow"})
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert is_consent_page(agency.http.get(consent)), "nothing was decided"


def test_sensitive_scope_not_allowed_is_dropped_silently(citizen, agency):
    citizen.signed_in_quickly()
    body = agency.tokens(scope="openid profile natural_identity")
    assert set(body["scope"].split()) == {"openid", "profile"}
    claims = agency.userinfo(body["access_token"]).get_json()
    assert "birth_family_name" not in claims and "family_name" in claims


def test_sensitive_scope_granted_to_approved_client(client, citizen, rt):
    c, secret = make_client(rt, scopes=["openid", "profile", "natural_identity"])
    approved = Agency(client, c, secret)
    citizen.signed_in_quickly()
    body = approved.tokens(scope="openid profile natural_identity")
    assert "natural_identity" in body["scope"].split()
    assert approved.userinfo(body["access_token"]).get_json()["birth_family_name"] == "Nagy"


# -- form_post response mode ---------------------------------------------------------------------


def test_form_post_returns_autosubmit_form_to_redirect_uri(citizen, agency, rt):
    citizen.signed_in_quickly()
    agency.get_code()
    response = agency.visit(response_mode="form_post")
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert "Location" not in response.headers
    page = response.get_data(as_text=True)
    assert form_action(page) == REDIRECT
    fields = hidden_inputs(page)
    assert fields["state"] == agency.state and fields["iss"] == rt.issuer and fields["code"]
    assert "https://agency.example.hu" in csp_directive(response, "form-action")
    assert agency.exchange(fields["code"]).status_code == 200


def test_form_post_escapes_agency_supplied_values(citizen, agency):
    citizen.signed_in_quickly()
    agency.get_code()
    hostile = '"><script>alert(1)</script>'
    page = agency.visit(response_mode="form_post", state=hostile).get_data(as_text=True)
    assert "<script>alert(1)" not in page
    assert hidden_inputs(page)["state"] == hostile


def test_form_post_carries_errors_too(agency, rt):
    response = agency.authorize(response_mode="form_post", prompt="none")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert form_action(page) == REDIRECT
    fields = hidden_inputs(page)
    assert fields["error"] == "login_required" and fields["state"] == agency.state and fields["iss"] == rt.issuer
    assert "https://agency.example.hu" in csp_directive(response, "form-action")


# -- Pages the citizen sees ----------------------------------------------------------------------


def test_login_hint_prefills_username(agency, client):
    response = agency.authorize(login_hint="kovacs.eva")
    page = client.get(login_location(response)).get_data(as_text=True)
    assert 'name="username" type="text" value="kovacs.eva"' in page


def test_agency_name_on_sign_in_and_consent_pages(client, rt):
    c, secret = make_client(rt, name="Nemzeti Adóhivatal Teszt")
    agency = Agency(client, c, secret)
    sign_in_page = client.get(login_location(agency.authorize()))
    assert "Nemzeti Adóhivatal Teszt" in sign_in_page.get_data(as_text=True)
    Citizen(client, rt, make_account(rt)).signed_in_quickly()
    consent_page = agency.visit()
    assert is_consent_page(consent_page)
    assert "Nemzeti Adóhivatal Teszt" in consent_page.get_data(as_text=True)


def test_unknown_agency_name_not_shown_for_foreign_next(client, agency):
    page = client.get("/login", query_string={"next": "https://evil.example/authorize?client_id=" + agency.client.client_id})
    assert agency.client.name not in page.get_data(as_text=True)
