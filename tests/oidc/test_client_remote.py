"""Calling a URL an integrator chose (``idp.clients.remote``) cannot be turned against the
provider's own network (server-side request forgery; ASVS 5.0 V1.3.6): the URL is parsed once
by the HTTP client's parser, the host is resolved once and every address checked, the
connection goes to the checked address, and the registrant's answer does not tell a closed
port from an open one or a refused connection from a 404.

Each test that says "nothing reached" has a real listener where the request would have gone.
The suite runs in development mode (loopback allowed); the production rules are tested with
``Fetcher(allow_loopback_http=False)`` and with an app configured for production.
"""

from __future__ import annotations

import ipaddress
import time

import pytest

from idp.app import create_app
from idp.clients.remote import NOT_FETCHED, FetchError, Fetcher, is_public

from ..conftest import make_settings
from ..support.live import documents, free_port
from ..support.network import Resolver, issue_certificate, listening
from ..support.registration import initial_token, register

DEVELOPMENT = Fetcher(allow_loopback_http=True, timeout=0.5)
PRODUCTION = Fetcher(allow_loopback_http=False, timeout=0.5)
JWKS = {"keys": []}


@pytest.fixture
def dns(monkeypatch) -> Resolver:
    return Resolver(monkeypatch)


@pytest.fixture
def production(app, database_url, keys_dir, clock):
    """A test client of the provider as configured in production (not development mode)."""
    settings = make_settings(database_url, keys_dir, issuer="https://idp.example.hu", server={"development": False})
    return create_app(settings, clock=clock).test_client()


def refusal(fetcher: Fetcher, url: str) -> str:
    with pytest.raises(FetchError) as caught:
        fetcher.json(url)
    return caught.value.reason


# -- One parser: what is checked is what is connected to -------------------------------------------


@pytest.mark.parametrize("fetcher", [DEVELOPMENT, PRODUCTION], ids=["development", "production"])
def test_a_backslash_authority_reaches_no_port_and_answers_as_a_closed_port_does(fetcher):
    """``urlsplit`` reads the host of ``https://127.0.0.1:PORT\\@8.8.8.8/`` as 8.8.8.8, urllib3
    as 127.0.0.1."""
    with listening() as listener:
        open_answer = refusal(fetcher, f"https://127.0.0.1:{listener.port}\\@8.8.8.8/jwks.json")
        closed_answer = refusal(fetcher, f"https://127.0.0.1:{free_port()}\\@8.8.8.8/jwks.json")
    assert listener.connections == 0
    assert open_answer == closed_answer


def test_registration_answers_a_backslash_authority_as_it_answers_a_closed_port(production, rt):
    def answer(port: int) -> dict:
        response = register(production, initial_token(rt), redirect_uris=["https://portal.example.hu/cb"],
                            sector_identifier_uri=f"https://127.0.0.1:{port}\\@8.8.8.8/sector.json")
        assert response.status_code == 400
        return response.get_json()

    with listening() as listener:
        assert answer(listener.port) == answer(free_port())
    assert listener.connections == 0
    assert answer(free_port())["error"] == "invalid_client_metadata"


@pytest.mark.parametrize("authority", ["user@127.0.0.1:{port}", "user:pw@127.0.0.1:{port}", "8.8.8.8@127.0.0.1:{port}",
                                       "127.0.0.1:{port}@8.8.8.8"], ids=["user", "user_password", "public_user",
                                                                         "loopback_user"])
def test_userinfo_in_the_authority_is_refused_before_any_connection(authority):
    with listening() as listener:
        with pytest.raises(FetchError):
            DEVELOPMENT.json("http://" + authority.format(port=listener.port) + "/jwks.json")
    assert listener.connections == 0


@pytest.mark.parametrize("url", [
    "https://agency.example.hu/a b", "https://agency.example.hu/\tjwks", "https://agency.example.hu/ü.json",
    'https://agency.example.hu/"', "https://agency.example.hu/%zz", "https://agency.example.hu/a\\b",
], ids=["space", "tab", "non_ascii", "quote", "bad_escape", "backslash_in_path"])
def test_only_rfc3986_characters_reach_the_http_client(url):
    assert refusal(PRODUCTION, url) == "not a valid URL"


# -- Addresses: resolved once, every one checked, the connection pinned ----------------------------


def test_a_name_resolving_to_loopback_is_refused_in_production(dns):
    with documents() as docs:
        docs.put("/jwks.json", JWKS)
        dns.answer("jwks.agency.test", ["127.0.0.1"])
        port = docs.base.rsplit(":", 1)[1]
        for url in (f"https://jwks.agency.test:{port}/jwks.json", f"http://jwks.agency.test:{port}/jwks.json"):
            with pytest.raises(FetchError):
                PRODUCTION.json(url)
        assert DEVELOPMENT.json(f"http://localhost:{port}/jwks.json") == JWKS  # development allows it
        assert refusal(PRODUCTION, f"https://localhost:{port}/jwks.json") == "is not a public address"
    assert docs.hits == {"/jwks.json": 1}


@pytest.mark.parametrize("addresses", [
    ["10.1.2.3"], ["127.0.0.1"], ["169.254.169.254"], ["::1"], ["fd00::1"], ["::ffff:127.0.0.1"], ["0.0.0.0"],
    ["100.64.0.1"], ["64:ff9b::a01:203"], ["2002:a01:203::1"], ["8.8.8.8", "10.1.2.3"],
], ids=["private", "loopback", "link_local", "ipv6_loopback", "ipv6_unique_local", "ipv4_mapped_loopback",
        "unspecified", "shared", "nat64_private", "6to4_private", "one_of_two_private"])
def test_a_name_resolving_to_any_non_public_address_is_refused_without_a_connection(addresses, dns):
    dns.answer("jwks.agency.test", addresses)
    with listening() as listener:
        assert refusal(PRODUCTION, f"https://jwks.agency.test:{listener.port}/jwks.json") == NOT_FETCHED
    assert listener.connections == 0


PUBLIC = {
    "8.8.8.8": True, "2001:4860:4860::8888": True, "::ffff:8.8.8.8": True, "64:ff9b::808:808": True,
    "2002:808:808::1": True,
    "10.0.0.1": False, "172.16.0.1": False, "192.168.1.1": False, "127.0.0.1": False, "169.254.169.254": False,
    "100.64.0.1": False, "0.0.0.0": False, "255.255.255.255": False, "224.0.0.1": False, "192.0.2.1": False,
    "::1": False, "::": False, "fe80::1": False, "fd00::1": False, "ff02::1": False, "::ffff:127.0.0.1": False,
    "::ffff:10.0.0.1": False, "64:ff9b::a01:203": False, "2002:a01:203::1": False, "2001:db8::1": False,
}


@pytest.mark.parametrize("address, public", PUBLIC.items(), ids=PUBLIC.keys())
def test_which_addresses_are_public(address, public):
    """Also the IPv6 forms that carry an IPv4 address (mapped, NAT64, 6to4) by that address."""
    assert is_public(ipaddress.ip_address(address)) is public


def test_registration_in_production_refuses_a_sector_uri_whose_name_resolves_to_loopback(production, rt, dns):
    dns.answer("sector.agency.test", ["127.0.0.1"])
    with listening() as listener:
        response = register(production, initial_token(rt), redirect_uris=["https://portal.example.hu/cb"],
                            sector_identifier_uri=f"https://sector.agency.test:{listener.port}/sector.json")
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_client_metadata"
    assert listener.connections == 0


def test_dns_rebinding_gains_nothing_the_connection_goes_to_the_address_checked(dns, tmp_path):
    """The agency's name answers 127.0.0.2 when checked and 127.0.0.1 if asked again (both
    loopback, allowed in development, so only pinning decides where the request lands): the
    document comes from the checked address, over TLS verified for the name, and the second
    address never hears from the provider."""
    certificate = issue_certificate(tmp_path, ["jwks.agency.test"])
    with listening("127.0.0.1") as rebound, documents(
        "127.0.0.2", port=rebound.port, ssl_context=(certificate.cert_file, certificate.key_file)
    ) as checked:
        checked.put("/jwks.json", JWKS)
        dns.answer("jwks.agency.test", ["127.0.0.2"], ["127.0.0.1"])
        fetcher = Fetcher(allow_loopback_http=True, timeout=2, ca_certs=certificate.ca_file)
        assert fetcher.json(f"https://jwks.agency.test:{rebound.port}/jwks.json") == JWKS
    assert checked.hits == {"/jwks.json": 1}
    assert rebound.connections == 0
    assert dns.lookups["jwks.agency.test"] == 1


def test_every_checked_address_is_tried_in_turn(dns):
    with documents() as docs:
        docs.put("/jwks.json", JWKS)
        port = int(docs.base.rsplit(":", 1)[1])
        dns.answer("localhost", ["127.0.0.3", "127.0.0.1"])  # nothing listens on 127.0.0.3
        assert DEVELOPMENT.json(f"http://localhost:{port}/jwks.json") == JWKS


# -- TLS: pinned to the address, verified against the name -----------------------------------------


@pytest.fixture
def agency_tls(tmp_path, dns):
    certificate = issue_certificate(tmp_path, ["jwks.agency.test"])
    with documents(ssl_context=(certificate.cert_file, certificate.key_file)) as docs:
        docs.put("/jwks.json", JWKS)
        docs.port = int(docs.base.rsplit(":", 1)[1])
        dns.answer("jwks.agency.test", ["127.0.0.1"])
        dns.answer("other.agency.test", ["127.0.0.1"])
        yield certificate, docs


def test_tls_to_the_pinned_address_verifies_the_certificate_against_the_name(agency_tls):
    certificate, docs = agency_tls
    trusting = Fetcher(allow_loopback_http=True, timeout=2, ca_certs=certificate.ca_file)
    assert trusting.json(f"https://jwks.agency.test:{docs.port}/jwks.json") == JWKS
    # The same server and address under a name its certificate does not carry, or without trust
    # in its CA, is refused.
    assert refusal(trusting, f"https://other.agency.test:{docs.port}/jwks.json") == NOT_FETCHED
    assert refusal(trusting, f"https://127.0.0.1:{docs.port}/jwks.json") == NOT_FETCHED
    assert refusal(Fetcher(allow_loopback_http=True, timeout=2), f"https://jwks.agency.test:{docs.port}/jwks.json") == NOT_FETCHED
    assert docs.hits == {"/jwks.json": 1}


# -- What the registrant is told -------------------------------------------------------------------


def test_a_closed_port_an_open_one_a_timeout_and_any_status_answer_alike(dns):
    dns.answer("nowhere.agency.test", [])
    with documents() as docs, listening(banner=b"SSH-2.0-OpenSSH_9.6\r\n") as other_protocol, listening() as silent:
        docs.put("/500.json", {}, status=500)
        docs.put("/302.json", {}, status=302)
        docs.put("/204.json", {}, status=204)
        answers = {
            "refused": refusal(DEVELOPMENT, f"http://127.0.0.1:{free_port()}/x.json"),
            "other_protocol": refusal(DEVELOPMENT, f"http://127.0.0.1:{other_protocol.port}/x.json"),
            "silent": refusal(DEVELOPMENT, f"http://127.0.0.1:{silent.port}/x.json"),
            "tls_to_plain_http": refusal(DEVELOPMENT, docs.base.replace("http:", "https:") + "/404.json"),
            "unresolved": refusal(DEVELOPMENT, "https://nowhere.agency.test/x.json"),
            **{status: refusal(DEVELOPMENT, f"{docs.base}/{status}.json") for status in ("404", "500", "302", "204")},
        }
        dns.answer("private.agency.test", ["10.1.2.3"])
        answers["resolves_private"] = refusal(PRODUCTION, "https://private.agency.test/x.json")
    assert set(answers.values()) == {NOT_FETCHED}, answers


def test_registration_answers_every_unreachable_sector_uri_alike(client, rt):
    with documents() as docs, listening(banner=b"220 smtp.agency.test ESMTP\r\n") as smtp:
        docs.put("/500.json", [], status=500)
        answers = set()
        for uri in (f"http://127.0.0.1:{free_port()}/sector.json", f"http://127.0.0.1:{smtp.port}/sector.json",
                    f"{docs.base}/missing.json", f"{docs.base}/500.json"):
            response = register(client, initial_token(rt), redirect_uris=["https://portal.example.hu/cb"],
                                sector_identifier_uri=uri)
            assert response.status_code == 400
            body = response.get_json()
            answers.add((body["error"], body["error_description"]))
    assert len(answers) == 1 and next(iter(answers))[0] == "invalid_client_metadata"


def test_the_timeout_bounds_the_whole_answer_not_each_read():
    """A server that drips its body a byte at a time never lets one read time out."""
    with listening(drip=True) as slow:
        started = time.monotonic()
        assert refusal(DEVELOPMENT, f"http://127.0.0.1:{slow.port}/jwks.json") == NOT_FETCHED
        assert time.monotonic() - started < 2 * DEVELOPMENT.timeout + 0.5


def test_a_document_too_large_or_not_json_keeps_its_own_reason():
    """Decided by what a public host served with a 200, the registrant's own document."""
    with documents() as docs:
        docs.put("/big.json", raw=b"[" + b"1," * 40000 + b"1]")
        docs.put("/text.json", raw=b"hello")
        assert refusal(DEVELOPMENT, f"{docs.base}/big.json") == "is too large"
        assert refusal(DEVELOPMENT, f"{docs.base}/text.json") == "is not JSON"
