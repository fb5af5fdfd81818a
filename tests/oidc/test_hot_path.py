"""The single sign-on path's statements (issue 11): a nonce is looked up once per authorization
request, and a nonce already used in a code is still refused."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from ..support.statements import statements_of


def test_an_authorize_with_a_session_looks_the_nonce_up_once(citizen, agency, db):
    citizen.signed_in_quickly()
    agency.get_code()  # consent recorded, the client snapshot warm
    response, seen = statements_of(db, agency.visit)
    assert "code" in parse_qs(urlsplit(response.headers["Location"]).query)
    nonce_lookups = [s for s in seen if s.startswith("SELECT authorization_code.id") and "nonce" in s]
    assert len(nonce_lookups) == 1, seen


def test_an_authorize_with_a_session_reads_the_session_with_its_account(citizen, agency, db):
    citizen.signed_in_quickly()
    agency.get_code()
    response, seen = statements_of(db, agency.visit)
    assert "code" in parse_qs(urlsplit(response.headers["Location"]).query)
    reads = [s for s in seen if " FROM sso_session" in s or " FROM account" in s]
    assert len(reads) == 1 and "JOIN account" in reads[0], reads


def test_a_nonce_used_in_a_code_is_refused_in_the_next_request(citizen, agency):
    citizen.signed_in_quickly()
    agency.get_code(nonce="the-same-nonce")
    response = agency.visit(nonce="the-same-nonce")
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert "code" not in query and query.get("error") == ["invalid_request"]


def test_a_good_exchange_claims_the_code_before_reading_it(citizen, agency, db):
    """The claim carries the exchange's checks, so it comes first: on PostgreSQL it is the only
    statement on the code (it loads the code, account and consent as it claims), on SQLite an
    UPDATE followed by the SELECT that loads them."""
    citizen.signed_in_quickly()
    agency.get_code()  # consent recorded, the client snapshot warm
    code = agency.get_code()
    response, sent = statements_of(db, lambda: agency.exchange(code))
    seen = [st for st in sent if "authorization_code" in st]
    assert response.status_code == 200
    if db.engine.dialect.name == "postgresql":
        assert len(seen) == 1 and seen[0].startswith("WITH claimed AS (UPDATE authorization_code"), seen
    else:
        assert [s.split()[0] for s in seen] == ["UPDATE", "SELECT"], seen


def test_an_introspection_reads_the_token_with_its_holder_in_one_statement(citizen, agency, db):
    citizen.signed_in_quickly()
    body = agency.exchange(agency.get_code()).get_json()
    response, sent = statements_of(db, lambda: agency.introspect(body["access_token"]))
    answer = response.get_json()
    seen = [st for st in sent if " FROM token" in st or " FROM account" in st]
    assert answer["active"] is True
    assert len(seen) == 1 and "JOIN account" in seen[0], seen
