"""The shape of the URIs a client registers, one rule for the operator's CLI and for dynamic
registration (``idp.clients.uris``): no control characters or whitespace anywhere, and an
authority that is a host name or an IP literal with an optional port, nothing else.

Python's ``urlsplit`` drops tab, CR and LF while it reads a URI and takes any text up to the
first ``/`` as the host, so such values used to pass registration and be stored as sent; a
space or ``;`` in the host then reached the Content-Security-Policy ``form-action``.
"""

from __future__ import annotations

import pytest

from idp.extensions import db

from ..support.cli import run
from ..support.factories import make_client
from ..support.flows import Agency
from ..support.protocol import csp_directive
from ..support.registration import initial_token, register

#: Values every registered URI field refuses, whatever its scheme rules.
BAD_URIS = {
    "tab_in_path": "https://agency.example.hu/c\tb",
    "lf_in_path": "https://agency.example.hu/cb\n",
    "crlf_in_query": "https://agency.example.hu/cb?x=1\r\nSet-Cookie:%20a=b",
    "tab_in_host": "https://agency.exa\tmple.hu/cb",
    "space_in_path": "https://agency.example.hu/c b",
    "nbsp_in_path": "https://agency.example.hu/c\u00a0b",
    "space_in_host": "https://agency.example.hu */cb",
    "semicolon_in_host": "https://agency.example.hu;sandbox/cb",
    "csp_in_host": "https://agency.example.hu *; sandbox allow-forms/cb",
    "userinfo": "https://agency.example.hu@evil.example.com/cb",
    "backslash_authority": "https://evil.example.com\\@agency.example.hu/cb",
    "percent_in_host": "https://agency%2eexample.hu/cb",
    "non_ascii_host": "https://ügyfél.example.hu/cb",
    "underscore_host": "https://agency_x.example.hu/cb",
    "empty_port": "https://agency.example.hu:/cb",
    "port_out_of_range": "https://agency.example.hu:65536/cb",
    "port_not_a_number": "https://agency.example.hu:https/cb",
    "trailing_dot": "https://agency.example.hu./cb",
    "numeric_host": "https://2130706433/cb",
    "short_ipv4": "https://127.1/cb",
    "hex_ipv4": "https://0x7f.0.0.1/cb",
    "ipv6_zone": "https://[fe80::1%25eth0]/cb",
    "ipv6_unbracketed": "https://::1/cb",
    "no_host": "https:///cb",
}

FIELDS = {
    "redirect_uris": ("invalid_redirect_uri", lambda uri: {"redirect_uris": [uri]}),
    "post_logout_redirect_uris": ("invalid_client_metadata", lambda uri: {"post_logout_redirect_uris": [uri]}),
    "backchannel_logout_uri": ("invalid_client_metadata", lambda uri: {"backchannel_logout_uri": uri}),
}


@pytest.mark.parametrize("uri", BAD_URIS.values(), ids=BAD_URIS.keys())
@pytest.mark.parametrize("field", FIELDS, ids=FIELDS.keys())
def test_registration_refuses_a_uri_with_whitespace_controls_or_a_bad_authority(field, uri, client, rt):
    error, metadata = FIELDS[field]
    response = register(client, initial_token(rt), **metadata(uri))
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["error"] == error


CLI_OPTIONS = {
    "redirect_uris": ("invalid_redirect_uri", "--redirect-uri"),
    "post_logout_redirect_uris": ("invalid_client_metadata", "--post-logout-redirect-uri"),
    "backchannel_logout_uri": ("invalid_client_metadata", "--backchannel-logout-uri"),
}


@pytest.mark.parametrize("uri", [BAD_URIS[k] for k in ("tab_in_path", "crlf_in_query", "csp_in_host", "userinfo")],
                         ids=["tab_in_path", "crlf_in_query", "csp_in_host", "userinfo"])
@pytest.mark.parametrize("field", CLI_OPTIONS, ids=CLI_OPTIONS.keys())
def test_the_operators_cli_refuses_the_same_uris(field, uri, app):
    error, option = CLI_OPTIONS[field]
    args = ["clients", "add", "--name", "Agency", "--redirect-uri", "https://agency.example.hu/cb"]
    if option == "--redirect-uri":
        args = ["clients", "add", "--name", "Agency"]
    result = run(app, *args, option, uri)
    assert result.exit_code == 2, result.output
    assert error in result.output


GOOD_URIS = [
    "https://agency.example.hu/cb",
    "https://Agency.Example.HU:8443/cb?x=%C3%BC&y=ü",
    "https://agency-1.example.hu/a/b;c=d",
    "https://192.0.2.10/cb",
    "https://[2001:db8::10]:8443/cb",
    "https://xn--gyfl-1raa.example.hu/cb",
]


@pytest.mark.parametrize("uri", GOOD_URIS)
def test_well_formed_redirect_uris_are_kept_as_sent(uri, client, rt):
    response = register(client, initial_token(rt), redirect_uris=[uri], post_logout_redirect_uris=[uri])
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["redirect_uris"] == [uri]


def test_form_action_names_only_the_redirect_origin(citizen, client, rt):
    c, secret = make_client(rt, redirect_uri="https://agency.example.hu:8443/cb")
    agency = Agency(client, c, secret)
    citizen.signed_in_quickly()
    response = agency.visit(response_mode="form_post")
    assert response.status_code == 200
    assert csp_directive(response, "form-action") == ["'self'", "https://agency.example.hu:8443"]


def test_a_stored_uri_with_a_bad_authority_never_reaches_the_csp(citizen, client, rt):
    """Rows written before the rule (or by hand) are not trusted by the CSP either: the response
    names no origin for them, so the browser refuses to post the form anywhere but here."""
    c, secret = make_client(rt)
    bad = BAD_URIS["csp_in_host"]
    c.redirect_uris = [bad]
    db.session.commit()
    agency = Agency(client, c, secret)
    citizen.signed_in_quickly()
    response = agency.visit(response_mode="form_post")
    assert csp_directive(response, "form-action") == ["'self'"]
    assert "sandbox" not in response.headers["Content-Security-Policy"]
