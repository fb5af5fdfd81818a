"""Throttled checks of a password or code answer 429 with ``Retry-After`` and the readable message
(RFC 6585 §4), the same for an unknown and a known username."""

from __future__ import annotations

import re

from ..support.flows import csrf_of


def _message(html: str) -> list[str]:
    return re.findall(r'class="flash flash-error" role="alert">([^<]*)<', html)


def _attempt(client, username: str, password: str = "wrong wrong wrong"):
    page = client.get("/login")
    return client.post("/login", data={"csrf_token": csrf_of(page.get_data(as_text=True)), "username": username,
                                       "password": password})


def _until_throttled(app, username: str):
    client = app.test_client()
    for _ in range(20):
        response = _attempt(client, username)
        if response.status_code != 303:
            return response
    raise AssertionError("never throttled")


def test_throttled_sign_in_is_429_with_retry_after_and_the_message(app, citizen):
    response = _until_throttled(app, citizen.account.username)
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    html = response.get_data(as_text=True)
    (message,) = _message(html)
    assert "próbálkozás" in message
    assert 'href="/login"' in html


def test_unknown_and_known_usernames_are_throttled_alike(app, citizen):
    known = _until_throttled(app, citizen.account.username)
    unknown = _until_throttled(app, "nobody-by-this-name")
    assert known.status_code == unknown.status_code == 429
    assert known.headers["Retry-After"] == unknown.headers["Retry-After"]
    assert known.get_data() == unknown.get_data()


def test_throttled_password_change_is_429(app, rt, citizen, client):
    citizen.signed_in_quickly()
    for _ in range(20):
        page = client.get("/account/password").get_data(as_text=True)
        response = client.post("/account/password", data={
            "csrf_token": csrf_of(page), "current_password": "not my password", "new_password": "x" * 20 + "Aa1",
            "confirm_password": "x" * 20 + "Aa1",
        })
        if response.status_code != 303:
            break
    assert response.status_code == 429, response.status_code
    assert int(response.headers["Retry-After"]) > 0
    assert 'href="/account/password"' in response.get_data(as_text=True)


def test_throttled_second_factor_code_is_429(citizen, rt):
    secret, _codes = citizen.with_second_factor()
    citizen.sign_in()
    for _ in range(20):
        response = citizen.second_step("000000")
        if response.status_code != 303:
            break
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0

