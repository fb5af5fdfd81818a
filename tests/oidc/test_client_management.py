"""The operator's hold on clients (``idp clients ...``): initial access tokens, approval of the
sensitive scope, suspension, and secret rotation with a grace period. Every action is audited.
"""

from __future__ import annotations

import json

import pytest

from idp.audit import events
from idp.clients.models import InitialAccessToken
from idp.clients.service import find
from idp.extensions import db
from idp.security.secrets import digest

from ..support.cli import run
from ..support.factories import make_client
from ..support.flows import Agency
from ..support.protocol import assert_error_page
from ..support.registration import register, registered_agency

NATURAL = "openid profile natural_identity"


def refreshed(client):
    db.session.refresh(client)
    return client


@pytest.fixture
def citizen(citizen):
    citizen.signed_in_quickly()
    return citizen


def test_initial_token_is_printed_once_and_stored_as_a_digest(app, rt):
    result = run(app, "clients", "initial-token", "--agency", "Országos Nyugdíjbiztosítási Főigazgatóság",
                 "--expires", "2d", "--uses", "3", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    row = db.session.query(InitialAccessToken).one()
    assert row.token_digest == digest(out["initial_access_token"])
    assert row.max_uses == 3 and row.agency == "Országos Nyugdíjbiztosítási Főigazgatóság"
    assert (row.expires_at - rt.now()).days == 2
    assert out["registration_endpoint"] == rt.issuer + "/connect/register"
    (event,) = events(db.session, event="initial_access_token_issued")
    assert out["initial_access_token"] not in json.dumps(event.details)


@pytest.mark.parametrize("uses", [None, "3"], ids=["single_use_by_default", "three_uses"])
def test_initial_token_registers_as_many_clients_as_its_uses(app, client, uses):
    result = run(app, "clients", "initial-token", "--agency", "NAV", *(["--uses", uses] if uses else []), "--json")
    out = json.loads(result.stdout)
    assert set(out) == {"initial_access_token", "agency", "expires_at", "uses", "registration_endpoint"}
    allowed = int(uses or 1)
    assert out["uses"] == allowed
    statuses = [register(client, out["initial_access_token"]).status_code for _ in range(allowed + 1)]
    assert statuses == [201] * allowed + [401]


@pytest.mark.parametrize("args", [["--expires", "7 days"], ["--expires", "0d"], ["--uses", "0"], ["--uses", "1001"],
                                  ["--agency", " "]],
                         ids=["expires_words", "expires_zero", "no_uses", "too_many_uses", "blank_agency"])
def test_initial_token_limits_are_checked(app, args):
    base = {"--agency": "NAV", "--expires": "7d", "--uses": "1"}
    base.update(dict(zip(args[::2], args[1::2], strict=True)))
    result = run(app, "clients", "initial-token", *[x for kv in base.items() for x in kv])
    assert result.exit_code != 0
    assert db.session.query(InitialAccessToken).count() == 0


# -- The sensitive scope needs the operator's approval ---------------------------------------------


def test_the_sensitive_scope_is_released_only_after_approval_and_consent(app, client, rt, citizen):
    agency, body = registered_agency(client, rt, scope=NATURAL)
    assert body["scope"] == "openid profile"
    assert agency.client.pending_scopes == "natural_identity"

    # Asking before approval is not an error: a valid response, without the data.
    tokens = agency.tokens(scope=NATURAL)
    assert "natural_identity" not in tokens["scope"].split()
    claims = agency.userinfo(tokens["access_token"]).get_json()
    assert claims["family_name"] == "Kovács" and "birth_family_name" not in claims

    result = run(app, "clients", "approve", agency.client.client_id, "--scope", "natural_identity")
    assert result.exit_code == 0, result.output
    assert refreshed(agency.client).allowed_scopes == NATURAL and agency.client.pending_scopes == ""

    # Approved, but the citizen has not consented to it yet.
    refused = agency.authorize(scope=NATURAL, prompt="none")
    assert "error=consent_required" in refused.headers["Location"]
    page = agency.visit(scope=NATURAL)
    assert page.status_code == 200 and b'name="decision"' in page.data
    tokens = agency.exchange(agency.code_from(agency.follow(agency.consent(page)))).get_json()
    assert "natural_identity" in tokens["scope"].split()
    assert agency.userinfo(tokens["access_token"]).get_json()["birth_family_name"] == "Nagy"
    assert [e.details["scope"] for e in events(db.session, event="client_scope_approved")] == ["natural_identity"]


def test_refusing_clears_the_request_and_withdraws_an_approval(app, client, rt, citizen):
    agency, _ = registered_agency(client, rt, scope=NATURAL)
    assert run(app, "clients", "approve", agency.client.client_id, "--scope", "natural_identity", "--refuse").exit_code == 0
    assert refreshed(agency.client).pending_scopes == "" and agency.client.allowed_scopes == "openid profile"
    run(app, "clients", "approve", agency.client.client_id, "--scope", "natural_identity")
    run(app, "clients", "approve", agency.client.client_id, "--scope", "natural_identity", "--refuse")
    tokens = agency.tokens(scope=NATURAL)
    assert "birth_family_name" not in agency.userinfo(tokens["access_token"]).get_json()


def test_only_a_sensitive_scope_is_approved(app, agency):
    result = run(app, "clients", "approve", agency.client.client_id, "--scope", "email")
    assert result.exit_code != 0 and "scope_not_sensitive" in result.output


def test_an_approved_scope_stays_approved_across_an_update(app, client, rt):
    _, body = registered_agency(client, rt, scope=NATURAL)
    run(app, "clients", "approve", body["client_id"], "--scope", "natural_identity")
    response = client.put(f"/connect/register/{body['client_id']}", json={
        "client_id": body["client_id"], "redirect_uris": body["redirect_uris"], "scope": NATURAL,
    }, headers={"Authorization": f"Bearer {body['registration_access_token']}"})
    assert response.get_json()["scope"] == NATURAL


def test_an_update_cannot_grant_the_sensitive_scope_without_approval(client, rt):
    _, body = registered_agency(client, rt)
    response = client.put(f"/connect/register/{body['client_id']}", json={
        "client_id": body["client_id"], "redirect_uris": body["redirect_uris"], "scope": NATURAL,
    }, headers={"Authorization": f"Bearer {body['registration_access_token']}"})
    assert response.get_json()["scope"] == "openid profile"
    assert find(db.session, body["client_id"]).pending_scopes == "natural_identity"


# -- Suspension ------------------------------------------------------------------------------------


def test_a_suspended_client_stops_at_once_and_a_resumed_one_works_again(app, citizen, agency):
    agency.offline = True  # refresh tokens need offline access (OIDC Core §11)
    tokens = agency.tokens()
    assert run(app, "clients", "suspend", agency.client.client_id).exit_code == 0
    assert agency.userinfo(tokens["access_token"]).status_code == 401
    assert agency.introspect(tokens["access_token"]).get_json()["error"] == "invalid_client"
    assert agency.refresh(tokens["refresh_token"]).get_json()["error"] == "invalid_client"
    assert_error_page(agency.authorize())

    assert run(app, "clients", "resume", agency.client.client_id).exit_code == 0
    assert agency.userinfo(tokens["access_token"]).status_code == 200
    assert "access_token" in agency.tokens()
    assert [e.event for e in events(db.session, event=None) if e.event.startswith("client_")][:2] == [
        "client_resumed", "client_suspended"]


# -- Secret rotation -------------------------------------------------------------------------------


def test_a_rotated_secret_keeps_the_old_one_valid_for_the_grace_period(app, rt, clock, citizen, agency):
    old = agency.secret
    result = run(app, "clients", "rotate-secret", agency.client.client_id, "--grace", "1d", "--json")
    assert result.exit_code == 0, result.output
    new = json.loads(result.output)["client_secret"]
    assert refreshed(agency.client).secret_digest == digest(new)

    assert "access_token" in agency.tokens()  # the old secret, during the grace period
    rotated = Agency(agency.http, agency.client, new)
    assert "access_token" in rotated.tokens()

    clock.advance(days=1)
    citizen.signed_in_quickly()
    assert agency.exchange(agency.get_code()).get_json()["error"] == "invalid_client"
    assert "access_token" in rotated.tokens()
    (event,) = events(db.session, event="client_secret_rotated")
    assert new not in json.dumps(event.details) and old not in json.dumps(event.details)


def test_rotating_again_ends_the_previous_grace_at_once(app, citizen, agency):
    first = json.loads(run(app, "clients", "rotate-secret", agency.client.client_id, "--json").output)["client_secret"]
    run(app, "clients", "rotate-secret", agency.client.client_id, "--json")
    assert agency.exchange(agency.get_code()).get_json()["error"] == "invalid_client"  # the original secret
    assert "access_token" in Agency(agency.http, refreshed(agency.client), first).tokens()


@pytest.mark.parametrize("grace", ["31d", "-1d", "soon"])
def test_a_grace_period_out_of_range_is_refused(app, agency, grace):
    before = agency.client.secret_digest
    assert run(app, "clients", "rotate-secret", agency.client.client_id, "--grace", grace).exit_code != 0
    assert refreshed(agency.client).secret_digest == before


def test_a_client_without_a_secret_has_none_to_rotate(app, rt):
    public, _ = make_client(rt, auth_method="none")
    result = run(app, "clients", "rotate-secret", public.client_id)
    assert result.exit_code != 0 and "client_has_no_secret" in result.output
    assert find(db.session, public.client_id).secret_digest is None
