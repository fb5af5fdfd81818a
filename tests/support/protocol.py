"""Small readers for protocol responses: where a response sends the browser, what a page holds."""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

from joserfc import jwt

from .flows import query_of

HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')
FORM_ACTION = re.compile(r'<form method="post" action="([^"]*)"')


def redirected_params(response, redirect_uri: str) -> dict[str, str]:
    """The parameters of an authorization response redirected (302; 303 after a POST) to ``redirect_uri``."""
    assert response.status_code in (302, 303), (response.status_code, response.get_data(as_text=True)[:300])
    location = response.headers["Location"]
    assert location.split("?", 1)[0] == redirect_uri, location
    return query_of(location)


def assert_error_page(response) -> None:
    """An error shown to the citizen: HTML, 400, and no redirect anywhere."""
    assert response.status_code == 400, (response.status_code, response.headers.get("Location"))
    assert "Location" not in response.headers
    assert response.mimetype == "text/html"


INTERACTION_PAGE = re.compile(r"^/interaction/([A-Za-z0-9_-]{20,64})/([a-z-]+)$")


def page_location(response, page: str) -> str:
    """The interaction page (``login``, ``consent``, ``fix``, ``second-factor``) an authorization
    request sent the browser to."""
    assert response.status_code in (302, 303), (response.status_code, response.get_data(as_text=True)[:300])
    location = response.headers["Location"]
    match = INTERACTION_PAGE.match(urlsplit(location).path)
    assert match and match.group(2) == page, location
    return location


def login_location(response) -> str:
    """The sign-in page of the interaction an authorization request sent the browser to."""
    return page_location(response, "login")


def resume_of(page_url: str) -> str:
    """The resume step of the interaction a page belongs to."""
    match = INTERACTION_PAGE.match(urlsplit(page_url).path)
    assert match, page_url
    return f"/interaction/{match.group(1)}"


def hidden_inputs(page_html: str) -> dict[str, str]:
    return {name: html.unescape(value) for name, value in HIDDEN.findall(page_html)}


def form_action(page_html: str) -> str:
    match = FORM_ACTION.search(page_html)
    assert match, "page has no POST form"
    return html.unescape(match.group(1))


def csp_directive(response, name: str) -> list[str]:
    for part in response.headers["Content-Security-Policy"].split(";"):
        words = part.split()
        if words and words[0] == name:
            return words[1:]
    return []


def id_token_claims(rt, id_token: str) -> dict:
    keys = rt.keyring.public_keyset(rt.now())
    return jwt.decode(id_token, keys, algorithms=rt.keyring.supported_algorithms()).claims


def post_token(agency, data: dict):
    """A token request with any form (a scope on refresh, other grant types), authenticated as the agency."""
    data = dict(data)
    return agency.http.post("/token", data=data, headers=agency._auth(data))
