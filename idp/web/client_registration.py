"""The client registration endpoint (RFC 7591 §3) and client configuration endpoint (RFC 7592 §2).

JSON in, JSON out. A missing or bad token answers 401 with a ``Bearer`` challenge
(RFC 6750 §3); refused metadata answers 400 with ``invalid_redirect_uri`` or
``invalid_client_metadata`` and a short description (RFC 7591 §3.2.2). Bearer
tokens only, no cookies: exempt from CSRF.
"""

from __future__ import annotations

import json

from flask import Blueprint, Response, jsonify, request

from idp.clients import registration
from idp.lifecycle import clients
from idp.clients.metadata import MetadataError, from_registration_request
from idp.clients.models import Client
from idp.extensions import csrf, db
from idp.oidc.discovery import ENDPOINTS
from idp.runtime import runtime

PATH = ENDPOINTS["registration_endpoint"]

bp = Blueprint("client_registration", __name__)
csrf.exempt(bp)

#: RFC 7592 §2.2: an update request must not carry these.
SERVER_ISSUED = ("registration_access_token", "registration_client_uri", "client_secret_expires_at", "client_id_issued_at")


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


def _error(error: str, description: str, status: int = 400) -> Response:
    response = jsonify({"error": error, "error_description": description})
    response.status_code = status
    return _no_store(response)


def _denied(exc: registration.RegistrationDenied) -> Response:
    response = _error("invalid_token", "The access token is missing, invalid or expired.", 401)
    realm = f'Bearer realm="{runtime().issuer}"'
    response.headers["WWW-Authenticate"] = realm if exc.reason == "token_missing" else f'{realm}, error="invalid_token"'
    return response


def _bearer() -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return (value.strip() or None) if scheme.lower() == "bearer" else None


def _body():
    try:
        return json.loads(request.get_data(cache=False) or b"null")
    except (ValueError, RecursionError):
        raise MetadataError("invalid_client_metadata", "the body must be a JSON object") from None


def _policy() -> registration.RegistrationPolicy:
    rt = runtime()
    return registration.RegistrationPolicy(rt.keyring.supported_algorithms(), rt.settings.server.development)


def _client_information(client: Client, registration_token: str, status: int, secret: str | None = None) -> Response:
    """RFC 7591 §3.2.1 with RFC 7592 §3: the metadata in force and how to manage it."""
    body = {
        "client_id": client.client_id,
        "client_id_issued_at": int(client.created_at.timestamp()),
        **client.client_metadata,
        "registration_access_token": registration_token,
        "registration_client_uri": f"{runtime().issuer}{PATH}/{client.client_id}",
    }
    if client.secret_digest:
        body["client_secret_expires_at"] = 0
    if secret:
        body["client_secret"] = secret
    response = jsonify(body)
    response.status_code = status
    return _no_store(response)


@bp.post(PATH)
def register():
    rt = runtime()
    try:
        meta = from_registration_request(_body())
        done = clients.register(db.session, rt.now(), _policy(), _bearer(), meta)
    except registration.RegistrationDenied as exc:
        return _denied(exc)
    except MetadataError as exc:
        return _error(exc.error, exc.description)
    return _client_information(done.client, done.registration_token, 201, done.secret)


@bp.route(f"{PATH}/<client_id>", methods=["GET", "PUT", "DELETE"])
def configure(client_id: str):
    rt = runtime()
    token = _bearer()
    try:
        client = registration.find_managed(db.session, client_id, token)
        if request.method == "GET":
            return _client_information(client, token, 200)
        if request.method == "DELETE":
            clients.remove(db.session, rt.now(), client, clients.integrator(client.agency))
            return _no_store(Response(status=204))
        data = _body()
        if not isinstance(data, dict):
            raise MetadataError("invalid_client_metadata", "the body must be a JSON object")
        if data.get("client_id") != client.client_id or any(k in data for k in SERVER_ISSUED):
            return _error("invalid_request", "send client_id and no server-issued values")
        if "client_secret" in data and not (
            isinstance(data["client_secret"], str) and client.check_client_secret(data["client_secret"], rt.now())
        ):
            return _error("invalid_request", "client_secret does not match")
        secret = clients.update_registered(db.session, rt.now(), _policy(), client, from_registration_request(data))
    except registration.RegistrationDenied as exc:
        return _denied(exc)
    except MetadataError as exc:
        return _error(exc.error, exc.description)
    return _client_information(client, token, 200, secret)
