"""Dynamic registration as an integrator does it: an operator's initial access token, then JSON requests."""

from __future__ import annotations

from datetime import timedelta

from idp.audit import OPERATOR_CLI
from idp.clients.service import find
from idp.extensions import db
from idp.lifecycle.clients import issue_initial_token

from .flows import Agency

ENDPOINT = "/connect/register"


def initial_token(rt, agency: str = "Nemzeti Adó- és Vámhivatal", *, days: int = 7, uses: int = 1) -> str:
    _, token = issue_initial_token(db.session, rt.now(), agency, OPERATOR_CLI, lifetime=timedelta(days=days), max_uses=uses)
    return token


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def register(http, token: str | None, **metadata):
    metadata.setdefault("redirect_uris", ["https://agency.example.hu/callback"])
    return http.post(ENDPOINT, json=metadata, headers=bearer(token) if token else {})


def registered_agency(http, rt, **metadata) -> tuple[Agency, dict]:
    """Register through the endpoint; returns the story helper for the new client and the response body."""
    response = register(http, initial_token(rt), **metadata)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    return Agency(http, find(db.session, body["client_id"]), body.get("client_secret")), body


def configuration_path(body: dict) -> str:
    """The path of the registration_client_uri (the test client speaks paths)."""
    return ENDPOINT + "/" + body["client_id"]
