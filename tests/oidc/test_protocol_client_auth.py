"""Client authentication at the token endpoint: secrets (Basic and POST), public clients with
PKCE only, ``private_key_jwt`` (RFC 7523 §2.2, OIDC Core §9) and suspended clients.

RFC 6749 §2.3 and §5.2: a failed client authentication is ``invalid_client``, with 401 and a
``WWW-Authenticate`` challenge when the client used the Authorization header.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from idp.extensions import db
from idp.sharedstate import MemoryState

from ..support.client_keys import assertion, code_form, exchange_with_assertion, public_jwks
from ..support.factories import make_client
from ..support.flows import Agency
from ..support.protocol import assert_error_page



@pytest.fixture
def citizen(citizen):
    citizen.signed_in_quickly()
    return citizen


def basic(client_id: str, secret: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def invalid_client(response, status: int | None = 401) -> None:
    assert response.get_json()["error"] == "invalid_client", response.get_json()
    if status is not None:
        assert response.status_code == status
    else:
        assert response.status_code in (400, 401)
    assert "access_token" not in response.get_json()


# -- Secrets -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "who",
    [
        pytest.param("wrong_secret", id="wrong_secret"),
        pytest.param("unknown_client", id="unknown_client_id"),
        pytest.param("empty_secret", id="empty_secret"),
    ],
)
def test_failed_basic_authentication_is_401_with_challenge(citizen, agency, who):
    code = agency.get_code()
    client_id, secret = agency.client.client_id, agency.secret
    if who == "wrong_secret":
        secret = secret[:-2] + ("AA" if not secret.endswith("AA") else "BB")
    elif who == "unknown_client":
        client_id = "no-such-client"
    else:
        secret = ""
    response = agency.http.post("/token", data=code_form(agency, code), headers=basic(client_id, secret))
    invalid_client(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert agency.exchange(code).status_code == 200, "a failed client authentication does not consume the code"


def test_malformed_basic_header_is_invalid_client(citizen, agency):
    code = agency.get_code()
    headers = {"Authorization": "Basic !!!not-base64!!!"}
    invalid_client(agency.http.post("/token", data=code_form(agency, code), headers=headers), None)


def test_unknown_client_id_in_form_is_invalid_client(citizen, agency):
    code = agency.get_code()
    data = {**code_form(agency, code), "client_id": "no-such-client"}
    invalid_client(agency.http.post("/token", data={**data, "client_secret": agency.secret}), None)
    invalid_client(agency.http.post("/token", data=data), None)


def test_client_secret_post_works(citizen, client, rt):
    c, secret = make_client(rt, auth_method="client_secret_post")
    agency = Agency(client, c, secret)
    response = agency.exchange(agency.get_code())
    assert response.status_code == 200, response.get_json()


def test_client_secret_post_with_wrong_secret_is_invalid_client(citizen, client, rt):
    c, secret = make_client(rt, auth_method="client_secret_post")
    agency = Agency(client, c, secret)
    code = agency.get_code()
    data = {**code_form(agency, code), "client_id": c.client_id, "client_secret": "wrong-" + secret}
    invalid_client(agency.http.post("/token", data=data), None)


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_confidential_client_sending_no_secret_is_invalid_client(citizen, client, rt, method):
    c, secret = make_client(rt, auth_method=method)
    agency = Agency(client, c, secret)
    code = agency.get_code()
    response = agency.http.post("/token", data={**code_form(agency, code), "client_id": c.client_id})
    invalid_client(response, None)


def test_client_must_use_its_registered_method(citizen, client, rt):
    """A client registered for Basic may not switch to POST (and the other way round)."""
    c, secret = make_client(rt, auth_method="client_secret_basic")
    agency = Agency(client, c, secret)
    code = agency.get_code()
    data = {**code_form(agency, code), "client_id": c.client_id, "client_secret": secret}
    invalid_client(agency.http.post("/token", data=data), None)


# -- Public clients ------------------------------------------------------------------------------


def test_public_client_exchanges_with_pkce_only(citizen, client, rt):
    c, secret = make_client(rt, auth_method="none")
    assert secret is None
    agency = Agency(client, c, None)
    response = agency.exchange(agency.get_code())
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["id_token"]


def test_public_client_without_verifier_is_refused(citizen, client, rt):
    c, _ = make_client(rt, auth_method="none")
    agency = Agency(client, c, None)
    response = agency.exchange(agency.get_code(), code_verifier=None)
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_request"


def test_public_client_with_wrong_verifier_is_invalid_grant(citizen, client, rt):
    c, _ = make_client(rt, auth_method="none")
    agency = Agency(client, c, None)
    response = agency.exchange(agency.get_code(), verifier="w" * 50)
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_grant"


def test_public_client_cannot_pretend_to_be_confidential_one(citizen, agency):
    """A confidential client's id without its secret does not pass as a public client."""
    code = agency.get_code()
    response = agency.http.post("/token", data={**code_form(agency, code), "client_id": agency.client.client_id})
    invalid_client(response, None)


# -- private_key_jwt -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rsa_private():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def other_rsa_private():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def jwt_agency(client, rt, rsa_private):
    c, secret = make_client(rt, auth_method="private_key_jwt", jwks=public_jwks(rsa_private))
    assert secret is None
    return Agency(client, c, None)


def hmac_assertion(rt, client_id: str, secret: bytes) -> str:
    """The algorithm-confusion attack: HS256 keyed with the client's public key (libraries refuse to build it)."""
    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    now = int(rt.now().timestamp())
    claims = {"iss": client_id, "sub": client_id, "aud": rt.issuer + "/token", "exp": now + 60, "jti": str(uuid.uuid4())}
    signing_input = b64(json.dumps({"alg": "HS256", "kid": "agency-key-1"}).encode()) + "." + b64(json.dumps(claims).encode())
    return signing_input + "." + b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())


@pytest.mark.parametrize("with_client_id", [True, False], ids=["with_client_id", "assertion_only"])
def test_private_key_jwt_authenticates(citizen, jwt_agency, rt, rsa_private, with_client_id):
    signed = assertion(rt, jwt_agency.client.client_id, rsa_private)
    response = exchange_with_assertion(jwt_agency, jwt_agency.get_code(), signed, with_client_id=with_client_id)
    assert response.status_code == 200, response.get_json()


def test_private_key_jwt_with_issuer_as_audience_authenticates(citizen, jwt_agency, rt, rsa_private):
    signed = assertion(rt, jwt_agency.client.client_id, rsa_private, aud=rt.issuer)
    assert exchange_with_assertion(jwt_agency, jwt_agency.get_code(), signed).status_code == 200


def test_private_key_jwt_replayed_jti_is_invalid_client(citizen, jwt_agency, rt, rsa_private):
    signed = assertion(rt, jwt_agency.client.client_id, rsa_private)
    assert exchange_with_assertion(jwt_agency, jwt_agency.get_code(), signed).status_code == 200
    invalid_client(exchange_with_assertion(jwt_agency, jwt_agency.get_code(), signed), None)
    same_jti = assertion(rt, jwt_agency.client.client_id, rsa_private,
                         jti=pyjwt.decode(signed, options={"verify_signature": False})["jti"])
    invalid_client(exchange_with_assertion(jwt_agency, jwt_agency.get_code(), same_jti), None)


def test_private_key_jwt_living_too_long_is_invalid_client(citizen, jwt_agency, rt, rsa_private):
    """RFC 7523 §3 (7): a ``jti`` must be remembered while its assertion is valid; one valid for a
    day would outlive the replay cache, so it is refused outright."""
    now = int(rt.now().timestamp())
    long_lived = assertion(rt, jwt_agency.client.client_id, rsa_private, exp=now + 86400)
    invalid_client(exchange_with_assertion(jwt_agency, jwt_agency.get_code(), long_lived), None)


def test_private_key_jwt_jti_remembered_until_assertion_expires(citizen, jwt_agency, rt, rsa_private):
    elapsed = [0.0]
    rt.shared = MemoryState(monotonic=lambda: elapsed[0])
    lifetime = 3000
    signed = assertion(rt, jwt_agency.client.client_id, rsa_private, exp=int(rt.now().timestamp()) + lifetime)
    assert exchange_with_assertion(jwt_agency, jwt_agency.get_code(), signed).status_code == 200
    elapsed[0] += lifetime + 29  # still within the 30 s leeway after exp
    invalid_client(exchange_with_assertion(jwt_agency, jwt_agency.get_code(), signed), None)


@pytest.mark.parametrize(
    "case",
    ["wrong_key", "expired", "wrong_audience", "missing_jti", "missing_exp", "issuer_not_client",
     "subject_not_client", "hmac_with_public_key", "unsigned", "exp_not_a_number"],
)
def test_bad_private_key_jwt_is_invalid_client(citizen, jwt_agency, rt, rsa_private, other_rsa_private, case):
    cid = jwt_agency.client.client_id
    now = int(rt.now().timestamp())
    if case == "wrong_key":
        signed = assertion(rt, cid, other_rsa_private)
    elif case == "expired":
        signed = assertion(rt, cid, rsa_private, iat=now - 600, exp=now - 300)
    elif case == "wrong_audience":
        signed = assertion(rt, cid, rsa_private, aud="https://other-idp.example/token")
    elif case == "missing_jti":
        signed = assertion(rt, cid, rsa_private, jti=None)
    elif case == "missing_exp":
        signed = assertion(rt, cid, rsa_private, exp=None)
    elif case == "issuer_not_client":
        signed = assertion(rt, cid, rsa_private, iss="someone-else")
    elif case == "subject_not_client":
        signed = assertion(rt, cid, rsa_private, sub="someone-else")
    elif case == "exp_not_a_number":
        signed = assertion(rt, cid, rsa_private, exp=float("nan"))
    elif case == "hmac_with_public_key":
        signed = hmac_assertion(rt, cid, json.dumps(public_jwks(rsa_private)["keys"][0]).encode())
    else:
        signed = pyjwt.encode({"iss": cid, "sub": cid, "aud": rt.issuer + "/token", "exp": now + 60,
                               "jti": str(uuid.uuid4())}, None, algorithm="none")
    code = jwt_agency.get_code()
    invalid_client(exchange_with_assertion(jwt_agency, code, signed), None)


def test_private_key_jwt_client_cannot_use_a_secret_or_nothing(citizen, jwt_agency):
    code = jwt_agency.get_code()
    invalid_client(jwt_agency.http.post("/token", data={**code_form(jwt_agency, code),
                                                        "client_id": jwt_agency.client.client_id}), None)


def test_secret_client_cannot_use_private_key_jwt(citizen, client, rt, rsa_private):
    c, secret = make_client(rt, jwks=public_jwks(rsa_private))
    agency = Agency(client, c, secret)
    signed = assertion(rt, c.client_id, rsa_private)
    invalid_client(exchange_with_assertion(agency, agency.get_code(), signed), None)


# -- Suspended clients ---------------------------------------------------------------------------


def suspend(c) -> None:
    c.status = "suspended"
    db.session.commit()


def test_suspended_client_is_refused_at_token_endpoint(citizen, agency):
    code = agency.get_code()
    suspend(agency.client)
    invalid_client(agency.exchange(code), 401)


def test_suspended_client_gets_error_page_at_authorize(citizen, agency):
    suspend(agency.client)
    assert_error_page(agency.authorize())


def test_suspended_client_tokens_stop_working(citizen, agency):
    agency.offline = True  # refresh tokens need offline access (OIDC Core §11)
    body = agency.tokens()
    suspend(agency.client)
    assert agency.userinfo(body["access_token"]).status_code == 401
    invalid_client(agency.refresh(body["refresh_token"]), 401)
