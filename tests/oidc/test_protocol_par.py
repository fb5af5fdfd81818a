"""Pushed Authorization Requests (RFC 9126): the token endpoint's client authentication, the
authorization endpoint's validation with JSON errors, a single-use and short-lived
``request_uri`` that becomes the same interaction record, and clients (or the whole provider)
that accept pushed requests only."""

from __future__ import annotations

import json
import re

import pytest

from idp.clients.service import find
from idp.extensions import db

from ..conftest import make_settings
from ..support.cli import run
from ..support.factories import make_client
from ..support.flows import Agency
from ..support.registration import registered_agency
from ..support.protocol import assert_error_page, login_location, redirected_params

URN = re.compile(r"^urn:ietf:params:oauth:request_uri:[A-Za-z0-9_-]{40,}$")


def pushed(agency, **overrides) -> str:
    response = agency.push(**overrides)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert URN.match(body["request_uri"]), body
    assert 0 < body["expires_in"] <= 90
    assert response.headers["Cache-Control"] == "no-store"
    return body["request_uri"]


def test_discovery_names_the_endpoint_and_whether_it_is_required(client):
    meta = client.get("/.well-known/openid-configuration").get_json()
    assert meta["pushed_authorization_request_endpoint"].endswith("/par")
    assert meta["require_pushed_authorization_requests"] is False


def test_a_pushed_request_signs_in_and_answers_with_a_code(citizen, agency):
    citizen.sign_in(next_url=None)
    request_uri = pushed(agency)
    code = agency.code_from(agency.follow(agency.consent(agency.follow(agency.authorize_pushed(request_uri)))))
    tokens = agency.exchange(code)
    assert tokens.status_code == 200, tokens.get_json()
    assert "id_token" in tokens.get_json()


def test_a_pushed_request_of_a_citizen_not_signed_in_goes_to_the_interactions_sign_in(citizen, agency):
    request_uri = pushed(agency)
    login = login_location(agency.authorize_pushed(request_uri))
    assert "request_uri" not in login and "redirect_uri" not in login  # nothing carried in the URL
    code = agency.code_from(agency.follow(agency.consent(agency.follow(citizen.sign_in_at(login)))))
    assert agency.exchange(code).status_code == 200


def test_a_request_uri_is_used_once(citizen, agency):
    citizen.sign_in(next_url=None)
    request_uri = pushed(agency)
    first = agency.authorize_pushed(request_uri)
    assert first.status_code in (302, 303)
    again = agency.authorize_pushed(request_uri)
    assert_error_page(again)
    assert "invalid_request_uri" in again.get_data(as_text=True)


def test_an_expired_request_uri_is_refused(citizen, agency, rt, clock):
    citizen.sign_in(next_url=None)
    request_uri = pushed(agency)
    clock.advance(seconds=rt.settings.tokens.pushed_request_seconds + 1)
    assert_error_page(agency.authorize_pushed(request_uri))


def test_a_request_uri_is_only_for_the_client_that_pushed_it(citizen, agency, client, rt):
    other, _secret = make_client(rt)
    citizen.sign_in(next_url=None)
    request_uri = pushed(agency)
    assert_error_page(agency.authorize_pushed(request_uri, client_id=other.client_id))
    # and the refusal did not spend it for its own client
    assert agency.authorize_pushed(request_uri).status_code in (302, 303)


def test_an_unauthenticated_push_is_refused_with_401(client, agency):
    data = agency.authorize_params()
    response = client.post("/par", data=data)
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_client"
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    wrong = Agency(client, agency.client, "not-the-secret")
    response = wrong.push()
    assert response.status_code == 401 and response.get_json()["error"] == "invalid_client"


@pytest.mark.parametrize(
    "overrides, error",
    [
        pytest.param({"redirect_uri": "https://evil.example/cb"}, "invalid_request", id="redirect_uri"),
        pytest.param({"code_challenge_method": "plain"}, "invalid_request", id="pkce-plain"),
        pytest.param({"code_challenge": None}, "invalid_request", id="no-pkce"),
        pytest.param({"response_type": "token"}, "unsupported_response_type", id="response_type"),
        pytest.param({"scope": "profile"}, "invalid_scope", id="no-openid"),
    ],
)
def test_a_pushed_request_is_validated_like_the_authorization_endpoint_with_json_errors(agency, overrides, error):
    response = agency.push(**overrides)
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/json"
    assert response.get_json()["error"] == error


def test_a_body_client_id_of_another_client_is_refused(agency, rt):
    other, _secret = make_client(rt)
    response = agency.push(client_id=other.client_id)
    assert response.status_code in (400, 401)
    assert response.get_json()["error"] in ("invalid_request", "invalid_client")


def test_a_client_registered_with_require_par_cannot_send_a_plain_request(app, client, citizen, rt):
    result = run(app, "clients", "add", "--name", "PAR only", "--redirect-uri", "https://par.example.hu/cb",
                 "--require-par", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["require_pushed_authorization_requests"] is True
    par_client = find(db.session, out["client_id"])
    agency = Agency(client, par_client, out["client_secret"])
    citizen.sign_in(next_url=None)
    params = redirected_params(agency.authorize(), agency.redirect_uri)
    assert params["error"] == "invalid_request" and params["state"] == agency.state
    request_uri = pushed(agency)
    assert agency.authorize_pushed(request_uri).status_code in (302, 303)


def test_a_dynamically_registered_client_may_require_pushed_requests(client, rt, citizen):
    agency, body = registered_agency(client, rt, require_pushed_authorization_requests=True)
    assert body["require_pushed_authorization_requests"] is True
    citizen.sign_in(next_url=None)
    assert redirected_params(agency.authorize(), agency.redirect_uri)["error"] == "invalid_request"
    assert agency.authorize_pushed(pushed(agency)).status_code in (302, 303)


class TestRequiredForEveryClient:
    @pytest.fixture
    def settings(self, database_url, keys_dir, tmp_path):
        return make_settings(database_url, keys_dir, tokens={"require_pushed_authorization_requests": True},
                             mail={"outbox_dir": str(tmp_path / "outbox")})

    def test_discovery_says_so_and_every_plain_request_is_refused(self, client, citizen, agency):
        meta = client.get("/.well-known/openid-configuration").get_json()
        assert meta["require_pushed_authorization_requests"] is True
        citizen.sign_in(next_url=None)
        params = redirected_params(agency.authorize(), agency.redirect_uri)
        assert params["error"] == "invalid_request" and params["state"] == agency.state
        assert agency.authorize_pushed(pushed(agency)).status_code in (302, 303)
