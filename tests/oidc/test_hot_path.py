"""The single sign-on path's statements (issue 11): a nonce is looked up once per authorization
request, and a nonce already used in a code is still refused."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from sqlalchemy import event


def test_an_authorize_with_a_session_looks_the_nonce_up_once(citizen, agency, db):
    citizen.signed_in_quickly()
    agency.get_code()  # consent recorded, the client snapshot warm
    seen: list[str] = []

    def keep(conn, cursor, statement, *args):
        seen.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", keep)
    try:
        response = agency.visit()
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)
    assert "code" in parse_qs(urlsplit(response.headers["Location"]).query)
    nonce_lookups = [s for s in seen if s.startswith("SELECT authorization_code.id") and "nonce" in s]
    assert len(nonce_lookups) == 1, seen


def test_a_nonce_used_in_a_code_is_refused_in_the_next_request(citizen, agency):
    citizen.signed_in_quickly()
    agency.get_code(nonce="the-same-nonce")
    response = agency.visit(nonce="the-same-nonce")
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert "code" not in query and query.get("error") == ["invalid_request"]
