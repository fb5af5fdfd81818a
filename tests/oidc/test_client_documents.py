"""Documents a client publishes and the provider fetches: the ``sector_identifier_uri`` that lets
several hosts share one pairwise ``sub`` (OIDC Core §8.1), and the ``jwks_uri`` holding the keys
of its ``private_key_jwt`` assertions. Served from a local web server on a real port (loopback
http is allowed in development mode, which the suite runs in).
"""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from idp.clients.remote import FetchError, Fetcher

from ..support.client_keys import assertion, exchange_with_assertion, public_jwks
from ..support.live import documents
from ..support.registration import initial_token, register, registered_agency


@pytest.fixture
def docs():
    with documents() as served:
        yield served


@pytest.fixture
def citizen(citizen):
    citizen.signed_in_quickly()
    return citizen


def sub_for(agency) -> str:
    tokens = agency.tokens()
    return agency.userinfo(tokens["access_token"]).get_json()["sub"]


# -- sector_identifier_uri and pairwise sub --------------------------------------------------------


def test_one_sector_identifier_uri_shares_a_sub_and_other_sectors_do_not(client, rt, citizen, docs):
    portal = ["https://portal.example.hu/cb", "https://mobil.example.hu/cb"]
    sector = docs.put("/sector.json", [*portal, "https://ugyintezes.example.hu/cb"])
    first, _ = registered_agency(client, rt, redirect_uris=portal, sector_identifier_uri=sector)
    second, _ = registered_agency(client, rt, redirect_uris=["https://ugyintezes.example.hu/cb"],
                                  sector_identifier_uri=sector)
    elsewhere, _ = registered_agency(client, rt, redirect_uris=["https://portal.example.hu/cb"])
    other_host, _ = registered_agency(client, rt, redirect_uris=["https://mas.example.hu/cb"])

    assert first.client.sector_identifier == second.client.sector_identifier == "127.0.0.1"
    shared = sub_for(first)
    assert sub_for(second) == shared
    assert sub_for(elsewhere) != shared
    assert sub_for(other_host) not in (shared, sub_for(elsewhere))


@pytest.mark.parametrize("served, error", [
    ({"document": ["https://portal.example.hu/cb"]}, "invalid_redirect_uri"),
    ({"document": {"redirect_uris": ["https://portal.example.hu/cb", "https://mobil.example.hu/cb"]}},
     "invalid_client_metadata"),
    ({"raw": b"not json"}, "invalid_client_metadata"),
    ({"raw": b"[" + b'"https://x.example.hu/cb",' * 5000 + b'"x"]'}, "invalid_client_metadata"),
    ({"document": [], "status": 500}, "invalid_client_metadata"),
    ({"document": [], "status": 302}, "invalid_client_metadata"),
    (None, "invalid_client_metadata"),
], ids=["redirect_uri_not_listed", "not_an_array", "not_json", "too_large", "server_error", "redirect", "not_found"])
def test_a_bad_sector_identifier_uri_is_refused(served, error, client, rt, docs):
    uri = docs.put("/sector.json", **served) if served else docs.base + "/missing.json"
    response = register(client, initial_token(rt), redirect_uris=["https://portal.example.hu/cb", "https://mobil.example.hu/cb"],
                        sector_identifier_uri=uri)
    assert response.status_code == 400
    assert response.get_json()["error"] == error


def test_the_sector_cannot_be_changed_by_an_update(client, rt, docs):
    sector = docs.put("/sector.json", ["https://portal.example.hu/cb"])
    _, body = registered_agency(client, rt, redirect_uris=["https://portal.example.hu/cb"])
    response = client.put(f"/connect/register/{body['client_id']}", json={
        "client_id": body["client_id"], "redirect_uris": ["https://portal.example.hu/cb"], "sector_identifier_uri": sector,
    }, headers={"Authorization": f"Bearer {body['registration_access_token']}"})
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_client_metadata"


# -- jwks_uri --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def keys():
    return [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(3)]


@pytest.fixture
def jwt_agency(client, rt, docs, keys):
    uri = docs.put("/jwks.json", public_jwks(keys[0], "k1"))
    agency, _ = registered_agency(client, rt, token_endpoint_auth_method="private_key_jwt", jwks_uri=uri)
    return agency


def sign_in_with(agency, rt, key, kid):
    return exchange_with_assertion(agency, agency.get_code(), assertion(rt, agency.client.client_id, key, kid=kid))


def test_keys_at_the_jwks_uri_authenticate_and_are_cached(citizen, rt, jwt_agency, docs, keys):
    assert sign_in_with(jwt_agency, rt, keys[0], "k1").status_code == 200
    assert sign_in_with(jwt_agency, rt, keys[0], "k1").status_code == 200
    assert docs.hits["/jwks.json"] == 1


def test_a_new_kid_fetches_the_jwks_uri_again(citizen, rt, jwt_agency, docs, keys):
    assert sign_in_with(jwt_agency, rt, keys[0], "k1").status_code == 200
    docs.put("/jwks.json", {"keys": public_jwks(keys[1], "k2")["keys"] + public_jwks(keys[0], "k1")["keys"]})
    assert sign_in_with(jwt_agency, rt, keys[1], "k2").status_code == 200
    assert docs.hits["/jwks.json"] == 2
    response = sign_in_with(jwt_agency, rt, keys[2], "k3")  # a key the client never published
    assert response.status_code in (400, 401) and response.get_json()["error"] == "invalid_client"


@pytest.mark.parametrize("served", [
    {"raw": b"not json"}, {"document": {"keys": "none"}}, {"document": {"keys": [{"kty": "RSA"}]}},
    {"raw": b'{"keys": [' + b"{}," * 30000 + b"{}]}"}, {"document": {}, "status": 500},
], ids=["not_json", "keys_not_a_list", "broken_key", "too_large", "server_error"])
def test_an_unusable_jwks_uri_fails_client_authentication(served, citizen, rt, jwt_agency, docs, keys):
    docs.put("/jwks.json", **served)
    response = sign_in_with(jwt_agency, rt, keys[0], "k1")
    assert response.status_code in (400, 401) and response.get_json()["error"] == "invalid_client"


# -- The fetch's limits ----------------------------------------------------------------------------


@pytest.mark.parametrize("url, allow_loopback", [
    ("http://agency.example.hu/x.json", True),
    ("http://127.0.0.1:9/x.json", False),
    ("https://127.0.0.1:9/x.json", False),
    ("https://10.1.2.3/x.json", False),
    ("https://[::1]/x.json", False),
    ("https://169.254.169.254/latest/meta-data", False),
    ("ftp://agency.example.hu/x.json", True),
], ids=["http", "loopback_http_in_production", "loopback_https_in_production", "private_address", "ipv6_loopback",
        "link_local_metadata", "ftp"])
def test_a_fetch_reaches_only_public_https_hosts(url, allow_loopback):
    with pytest.raises(FetchError):
        Fetcher(allow_loopback_http=allow_loopback).json(url)
