"""Dynamic client registration (RFC 7591, OIDC Dynamic Client Registration 1.0) and client
management with the registration access token (RFC 7592).

The tests run in development mode (as the suite does) except where the rule is production's:
there, loopback http is allowed only to native clients.
"""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc.jwk import RSAKey

from idp.app import create_app
from idp.clients.models import InitialAccessToken
from idp.clients.service import find
from idp.extensions import db
from idp.security.secrets import digest

from ..conftest import make_settings
from ..support.cli import run
from ..support.flows import Agency
from ..support.protocol import assert_error_page
from ..support.registration import ENDPOINT, bearer, configuration_path, initial_token, register, registered_agency

SERVER_FIELDS = {"client_id", "client_secret", "client_id_issued_at", "client_secret_expires_at",
                 "registration_access_token", "registration_client_uri"}


@pytest.fixture
def production(app, database_url, keys_dir, clock):
    """A test client of the provider as configured in production (not development mode)."""
    settings = make_settings(database_url, keys_dir, issuer="https://idp.example.hu", server={"development": False})
    return create_app(settings, clock=clock).test_client()


def rsa_jwk(private: bool = False) -> dict:
    key = RSAKey.import_key(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    return key.as_dict(private=private, kid="k1")


def test_registration_answers_the_client_information_once_and_keeps_digests(client, rt):
    token = initial_token(rt, "Magyar Államkincstár")
    response = register(client, token, client_name="Kincstár portál", post_logout_redirect_uris=["https://agency.example.hu/"])
    assert response.status_code == 201
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert SERVER_FIELDS <= set(body)
    assert body["client_secret_expires_at"] == 0
    assert body["client_id_issued_at"] == int(rt.now().timestamp())
    assert body["registration_client_uri"] == rt.issuer + configuration_path(body)
    assert body["redirect_uris"] == ["https://agency.example.hu/callback"]
    assert body["token_endpoint_auth_method"] == "client_secret_basic"
    stored = find(db.session, body["client_id"])
    assert stored.agency == "Magyar Államkincstár" and stored.created_via == "registration"
    assert stored.secret_digest == digest(body["client_secret"])
    assert stored.registration_token_digest == digest(body["registration_access_token"])
    assert db.session.query(InitialAccessToken).one().token_digest == digest(token)


def test_discovery_names_the_registration_endpoint(client, rt):
    meta = client.get("/.well-known/openid-configuration").get_json()
    assert meta["registration_endpoint"] == rt.issuer + ENDPOINT


def test_a_registered_client_gets_tokens(client, rt, citizen):
    agency, _ = registered_agency(client, rt, grant_types=["authorization_code", "refresh_token"],
                                  scope="openid profile email offline_access")
    agency.offline = True
    citizen.signed_in_quickly()
    tokens = agency.tokens()
    assert agency.userinfo(tokens["access_token"]).get_json()["family_name"] == "Kovács"
    assert "refresh_token" in tokens


def test_in_production_a_native_client_may_use_loopback_http(production, rt):
    response = register(production, initial_token(rt), application_type="native", token_endpoint_auth_method="none",
                        redirect_uris=["http://127.0.0.1:47011/cb"])
    assert response.status_code == 201, response.get_json()
    assert "client_secret" not in response.get_json()
    assert response.get_json()["registration_client_uri"].startswith("https://idp.example.hu/")


@pytest.mark.parametrize("uri", ["http://127.0.0.1:8080/cb", "http://localhost/cb", "https://localhost/cb"])
def test_in_production_a_web_client_may_not_use_loopback(uri, production, rt):
    response = register(production, initial_token(rt), redirect_uris=[uri])
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_redirect_uri"


NON_PUBLIC_CALLED_URIS = {
    "loopback": "https://127.0.0.1:8443/backchannel-logout",
    "loopback_http": "http://127.0.0.1:8080/backchannel-logout",
    "localhost": "https://localhost/backchannel-logout",
    "private": "https://10.0.0.1/backchannel-logout",
    "link_local_metadata": "https://169.254.169.254/latest/meta-data",
    "ipv6_loopback": "https://[::1]/backchannel-logout",
    "ipv6_link_local": "https://[fe80::1]/backchannel-logout",
    "ipv4_mapped_private": "https://[::ffff:10.0.0.1]/backchannel-logout",
    "unspecified": "https://0.0.0.0/backchannel-logout",
}


@pytest.mark.parametrize("uri", NON_PUBLIC_CALLED_URIS.values(), ids=NON_PUBLIC_CALLED_URIS.keys())
def test_in_production_a_backchannel_logout_uri_must_not_name_a_non_public_address(uri, production, rt):
    response = register(production, initial_token(rt), backchannel_logout_uri=uri)
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_client_metadata"


def test_in_production_a_native_client_may_not_point_its_backchannel_logout_uri_at_loopback(production, rt):
    response = register(production, initial_token(rt), application_type="native", token_endpoint_auth_method="none",
                        redirect_uris=["http://127.0.0.1:47011/cb"], backchannel_logout_uri="http://127.0.0.1:47011/bc")
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_client_metadata"


@pytest.mark.parametrize("option", ["--backchannel-logout-uri", "--sector-identifier-uri"])
def test_in_production_the_operators_cli_refuses_a_called_uri_at_a_private_address(option, production):
    args = ["clients", "add", "--name", "Agency", "--redirect-uri", "https://agency.example.hu/cb", option,
            "https://10.0.0.1/x"]
    result = run(production.application, *args)
    assert result.exit_code == 2, result.output
    assert "invalid_client_metadata" in result.output


def test_in_production_a_public_backchannel_logout_uri_is_kept(production, rt):
    response = register(production, initial_token(rt), backchannel_logout_uri="https://agency.example.hu:8443/bc")
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["backchannel_logout_uri"] == "https://agency.example.hu:8443/bc"


def test_in_production_a_jwks_uri_at_a_private_address_is_refused_at_registration(production, rt):
    response = register(production, initial_token(rt), token_endpoint_auth_method="private_key_jwt",
                        jwks_uri="https://10.0.0.1/jwks.json")
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_client_metadata"


def test_the_name_defaults_to_the_agency_and_grants_to_the_code_grant(client, rt):
    body = register(client, initial_token(rt, "Kormányablak")).get_json()
    assert body["client_name"] == "Kormányablak"
    assert body["grant_types"] == ["authorization_code"]


# -- The initial access token ----------------------------------------------------------------------


def test_without_a_token_the_answer_is_401_with_a_bearer_challenge(client):
    response = register(client, None)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "error=" not in response.headers["WWW-Authenticate"]


@pytest.mark.parametrize("case", ["unknown", "expired", "used_up", "revoked", "basic_scheme"])
def test_a_bad_initial_token_is_refused_with_401(case, client, rt, clock):
    token = initial_token(rt, days=1)
    headers = bearer(token)
    if case == "unknown":
        headers = bearer("x" * 43)
    elif case == "expired":
        clock.advance(days=1)
    elif case == "used_up":
        assert register(client, token).status_code == 201
    elif case == "revoked":
        db.session.query(InitialAccessToken).update({"revoked_at": rt.now()})
        db.session.commit()
    elif case == "basic_scheme":
        headers = {"Authorization": "Basic " + base64.b64encode(f"x:{token}".encode()).decode()}
    response = client.post(ENDPOINT, json={"redirect_uris": ["https://a.example.hu/cb"]}, headers=headers)
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_token"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_multi_use_token_registers_that_many_clients(client, rt):
    token = initial_token(rt, uses=2)
    assert [register(client, token).status_code for _ in range(3)] == [201, 201, 401]


def test_refused_metadata_does_not_use_up_the_token(client, rt):
    token = initial_token(rt)
    assert register(client, token, redirect_uris=["http://agency.example.hu/cb"]).status_code == 400
    assert register(client, token).status_code == 201


def test_a_base64_encoded_initial_token_is_accepted(client, rt):
    """pyoidc base64-encodes a token that is not a JWT before sending it."""
    token = initial_token(rt)
    assert register(client, base64.b64encode(token.encode()).decode()).status_code == 201


# -- Refused metadata ------------------------------------------------------------------------------

REFUSED = {
    "redirect_uris_missing": ({"redirect_uris": []}, "invalid_redirect_uri"),
    "redirect_uri_not_a_string": ({"redirect_uris": [1]}, "invalid_redirect_uri"),
    "redirect_uri_http": ({"redirect_uris": ["http://agency.example.hu/cb"]}, "invalid_redirect_uri"),
    "redirect_uri_relative": ({"redirect_uris": ["/cb"]}, "invalid_redirect_uri"),
    "redirect_uri_fragment": ({"redirect_uris": ["https://agency.example.hu/cb#x"]}, "invalid_redirect_uri"),
    "redirect_uri_custom_scheme": ({"redirect_uris": ["hu.agency.app:/cb"]}, "invalid_redirect_uri"),
    "auth_method_unsupported": ({"token_endpoint_auth_method": "client_secret_jwt"}, "invalid_client_metadata"),
    "private_key_jwt_without_keys": ({"token_endpoint_auth_method": "private_key_jwt"}, "invalid_client_metadata"),
    "jwks_not_a_set": ({"token_endpoint_auth_method": "private_key_jwt", "jwks": {"kty": "RSA"}}, "invalid_client_metadata"),
    "jwks_private_key": (
        {"token_endpoint_auth_method": "private_key_jwt", "jwks": "PRIVATE"}, "invalid_client_metadata"),
    "jwks_and_jwks_uri": (
        {"token_endpoint_auth_method": "private_key_jwt", "jwks": "PUBLIC", "jwks_uri": "https://agency.example.hu/jwks"},
        "invalid_client_metadata"),
    "jwks_uri_http": (
        {"token_endpoint_auth_method": "private_key_jwt", "jwks_uri": "http://agency.example.hu/jwks"},
        "invalid_client_metadata"),
    "id_token_alg_hs256": ({"id_token_signed_response_alg": "HS256"}, "invalid_client_metadata"),
    "id_token_alg_none": ({"id_token_signed_response_alg": "none"}, "invalid_client_metadata"),
    "id_token_encryption": ({"id_token_encrypted_response_alg": "RSA-OAEP"}, "invalid_client_metadata"),
    "post_logout_redirect_uri_http": (
        {"post_logout_redirect_uris": ["http://agency.example.hu/"]}, "invalid_client_metadata"),
    "post_logout_redirect_uri_fragment": (
        {"post_logout_redirect_uris": ["https://agency.example.hu/#top"]}, "invalid_client_metadata"),
    "backchannel_logout_uri_http": ({"backchannel_logout_uri": "http://agency.example.hu/bc"}, "invalid_client_metadata"),
    "sector_identifier_uri_http": (
        {"sector_identifier_uri": "http://agency.example.hu/sector.json"}, "invalid_client_metadata"),
    "several_hosts_without_sector": (
        {"redirect_uris": ["https://a.example.hu/cb", "https://b.example.hu/cb"]}, "invalid_client_metadata"),
    "response_type_token": ({"response_types": ["code", "token"]}, "invalid_client_metadata"),
    "grant_type_implicit": ({"grant_types": ["implicit"]}, "invalid_client_metadata"),
    "grant_type_client_credentials": (
        {"grant_types": ["authorization_code", "client_credentials"]}, "invalid_client_metadata"),
    "scope_unknown": ({"scope": "openid admin"}, "invalid_client_metadata"),
    "application_type_unknown": ({"application_type": "desktop"}, "invalid_client_metadata"),
    "subject_type_unknown": ({"subject_type": "random"}, "invalid_client_metadata"),
    "client_name_too_long": ({"client_name": "x" * 201}, "invalid_client_metadata"),
    "client_name_not_a_string": ({"client_name": ["x"]}, "invalid_client_metadata"),
}


@pytest.mark.parametrize("metadata, error", REFUSED.values(), ids=REFUSED.keys())
def test_refused_metadata_names_the_error_and_why(metadata, error, client, rt):
    metadata = dict(metadata)
    if metadata.get("jwks") in ("PUBLIC", "PRIVATE"):
        metadata["jwks"] = {"keys": [rsa_jwk(private=metadata["jwks"] == "PRIVATE")]}
    response = register(client, initial_token(rt), **metadata)
    assert response.status_code == 400, response.get_json()
    body = response.get_json()
    assert body["error"] == error
    assert body["error_description"] and body["error_description"].isascii()
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]", b"", b"[" * 5000 + b"]" * 5000, b"\xff\xfe"],
                         ids=["not_json", "array", "empty", "deep", "not_utf8"])
def test_a_body_that_is_not_a_json_object_is_refused(raw, client, rt):
    response = client.post(ENDPOINT, data=raw, content_type="application/json", headers=bearer(initial_token(rt)))
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_client_metadata"


# -- RFC 7592: read, update, delete ----------------------------------------------------------------


def test_read_returns_the_registered_metadata(client, rt):
    _, body = registered_agency(client, rt, client_name="Olvasó")
    response = client.get(configuration_path(body), headers=bearer(body["registration_access_token"]))
    assert response.status_code == 200
    read = response.get_json()
    assert "client_secret" not in read
    assert {k: read[k] for k in read if k != "client_secret"} == {k: body[k] for k in body if k != "client_secret"}


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_configuration_needs_this_clients_registration_token(method, client, rt):
    _, mine = registered_agency(client, rt)
    _, other = registered_agency(client, rt)
    for headers in ({}, bearer("nope"), bearer(other["registration_access_token"]), bearer(initial_token(rt))):
        response = client.open(configuration_path(mine), method=method, headers=headers,
                               json={"client_id": mine["client_id"], "redirect_uris": ["https://x.example.hu/cb"]})
        assert response.status_code == 401, (headers, response.get_json())
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert find(db.session, mine["client_id"]).redirect_uris == ["https://agency.example.hu/callback"]


def test_update_changes_the_redirect_uri_at_once(client, rt, citizen):
    agency, body = registered_agency(client, rt)
    citizen.signed_in_quickly()
    new_uri = "https://agency.example.hu/new-callback"
    response = client.put(configuration_path(body), headers=bearer(body["registration_access_token"]),
                          json={"client_id": body["client_id"], "redirect_uris": [new_uri], "client_name": "Új név"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["redirect_uris"] == [new_uri]
    assert response.get_json()["client_name"] == "Új név"
    assert_error_page(agency.authorize())  # the old redirect URI is no longer registered
    moved = Agency(client, agency.client, body["client_secret"], redirect_uri=new_uri)
    assert "access_token" in moved.tokens()


@pytest.mark.parametrize("change, error", [
    ({"client_id": None}, "invalid_request"),
    ({"client_id": "someone-else"}, "invalid_request"),
    ({"registration_access_token": "x"}, "invalid_request"),
    ({"client_secret": "wrong"}, "invalid_request"),
    ({"redirect_uris": ["http://agency.example.hu/cb"]}, "invalid_redirect_uri"),
], ids=["no_client_id", "other_client_id", "server_issued_value", "wrong_secret", "http_redirect"])
def test_a_refused_update_changes_nothing(change, error, client, rt):
    _, body = registered_agency(client, rt)
    request = {"client_id": body["client_id"], "redirect_uris": ["https://agency.example.hu/other"], **change}
    request = {k: v for k, v in request.items() if v is not None}
    response = client.put(configuration_path(body), headers=bearer(body["registration_access_token"]), json=request)
    assert response.status_code == 400
    assert response.get_json()["error"] == error
    db.session.expire_all()
    assert find(db.session, body["client_id"]).redirect_uris == ["https://agency.example.hu/callback"]


def test_asking_for_a_public_subject_gets_pairwise_and_is_told_so(client, rt, citizen):
    """RFC 7591 §3.2.1: the server may replace a requested value and returns what it granted.
    Public is the operator's grant (PRODUCT.md); discovery lists it because the operator can give it."""
    assert "public" in client.get("/.well-known/openid-configuration").get_json()["subject_types_supported"]
    agency, body = registered_agency(client, rt, subject_type="public")
    assert body["subject_type"] == "pairwise"
    assert find(db.session, body["client_id"]).subject_type == "pairwise"
    citizen.signed_in_quickly()
    sub = agency.userinfo(agency.tokens()["access_token"]).get_json()["sub"]
    assert sub and sub != citizen.account.identifier


def test_an_update_keeps_the_subject_type(client, rt):
    _, body = registered_agency(client, rt)
    request = {"client_id": body["client_id"], "redirect_uris": body["redirect_uris"], "subject_type": "public"}
    response = client.put(configuration_path(body), headers=bearer(body["registration_access_token"]), json=request)
    assert response.status_code == 200 and response.get_json()["subject_type"] == "pairwise"
    granted = find(db.session, body["client_id"])
    granted.subject_type = "public"  # the operator's grant
    db.session.commit()
    request.pop("subject_type")
    response = client.put(configuration_path(body), headers=bearer(body["registration_access_token"]), json=request)
    assert response.status_code == 200 and response.get_json()["subject_type"] == "public"


def test_delete_removes_the_client_and_its_tokens_stop_working(client, rt, citizen):
    agency, body = registered_agency(client, rt, grant_types=["authorization_code", "refresh_token"],
                                  scope="openid profile email offline_access")
    agency.offline = True
    citizen.signed_in_quickly()
    tokens = agency.tokens()
    path, headers = configuration_path(body), bearer(body["registration_access_token"])
    response = client.delete(path, headers=headers)
    assert response.status_code == 204
    assert find(db.session, body["client_id"]) is None
    assert agency.userinfo(tokens["access_token"]).status_code == 401
    assert agency.refresh(tokens["refresh_token"]).get_json()["error"] == "invalid_client"
    assert agency.introspect(tokens["access_token"]).status_code == 401
    assert client.get(path, headers=headers).status_code == 401
