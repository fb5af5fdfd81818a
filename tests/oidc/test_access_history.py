"""The access history stays complete while the code exchange writes it in the token's own row
(issue 11): each ID token's release is on the token row, the account's history reads it back
with the userinfo releases, and a clean-up that deletes tokens folds them in first."""

from __future__ import annotations

from sqlalchemy import delete, select

from idp.authorizations import releases
from idp.authorizations.models import ClaimRelease, Token

from ..support.statements import statements_of


def id_token_entries(db, account_id):
    return [r for r in releases.history(db.session, account_id) if r.channel == releases.ID_TOKEN]


def test_an_exchange_writes_its_release_with_the_token_in_one_insert(citizen, agency, db):
    citizen.signed_in_quickly()
    code = agency.get_code(scope="openid profile email")
    response, statements = statements_of(db, lambda: agency.exchange(code))
    assert response.status_code == 200, response.get_json()

    writes = [s for s in statements if s.split()[0].upper() in ("INSERT", "UPDATE", "DELETE")]
    assert [s.split()[2] for s in writes if s.upper().startswith("INSERT")] == ["token"], writes
    assert not any("claim_release" in s for s in statements), "no second write for the history"
    row = db.session.scalars(select(Token).where(Token.account_id == citizen.account.id)).one()
    assert row.released_claims and "family_name" in row.released_claims.split()
    assert "sub" not in row.released_claims.split()


def test_two_exchanges_and_userinfo_the_same_day_show_as_counted_entries(citizen, agency, db):
    citizen.signed_in_quickly()
    first = agency.tokens(scope="openid email")
    agency.tokens(scope="openid email")
    assert agency.userinfo(first["access_token"]).status_code == 200

    history = releases.history(db.session, citizen.account.id)
    by_channel = {r.channel: r for r in history}
    assert set(by_channel) == {releases.ID_TOKEN, releases.USERINFO}
    assert by_channel[releases.ID_TOKEN].count == 2
    assert by_channel[releases.ID_TOKEN].claims == ("email", "email_verified")
    assert by_channel[releases.USERINFO].count == 1
    assert by_channel[releases.ID_TOKEN].agency == (agency.client.agency or agency.client.name)


def test_a_refused_exchange_adds_nothing_to_the_history(citizen, agency, db):
    citizen.signed_in_quickly()
    code = agency.get_code(scope="openid profile")
    assert agency.exchange(code, verifier="x" * 43).status_code == 400  # wrong PKCE verifier
    assert id_token_entries(db, citizen.account.id) == []
    assert agency.exchange(code).status_code == 200
    assert agency.exchange(code).status_code == 400  # reuse: refused, and the first use is revoked
    [entry] = id_token_entries(db, citizen.account.id)
    assert entry.count == 1


def test_a_refresh_is_no_release(citizen, agency, db):
    citizen.signed_in_quickly()
    agency.offline = True  # a refresh token needs offline access (OIDC Core §11)
    tokens = agency.tokens(scope="openid profile")
    assert agency.refresh(tokens["refresh_token"]).status_code == 200
    [entry] = id_token_entries(db, citizen.account.id)
    assert entry.count == 1


def test_deleting_tokens_after_folding_them_keeps_the_history_whole(citizen, agency, db):
    citizen.signed_in_quickly()
    agency.tokens(scope="openid profile")
    agency.tokens(scope="openid profile")
    before = releases.history(db.session, citizen.account.id)

    where = Token.account_id == citizen.account.id
    releases.fold(db.session, where)
    db.session.execute(delete(Token).where(where))
    db.session.commit()

    assert releases.history(db.session, citizen.account.id) == before
    [row] = db.session.scalars(select(ClaimRelease).where(ClaimRelease.account_id == citizen.account.id)).all()
    assert (row.channel, row.count) == (releases.ID_TOKEN, 2)


def test_an_entry_kept_both_ways_the_same_day_is_shown_once_counted_in_full(citizen, agency, db):
    """A release recorded before the upgrade (an id_token row in claim_release) and one on a token
    row the same day, for the same claims, are one entry."""
    citizen.signed_in_quickly()
    agency.tokens(scope="openid profile")
    where = Token.account_id == citizen.account.id
    releases.fold(db.session, where)  # as a release recorded the old way
    db.session.commit()
    [entry] = id_token_entries(db, citizen.account.id)
    assert entry.count == 2  # the folded row and the token row it came from, merged
