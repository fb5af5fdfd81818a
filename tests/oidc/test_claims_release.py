"""One rule releases claims: allowed now ∩ requested ∩ consented now, and the ID token, userinfo
and introspection agree on it (OIDC Core §5.4; PRODUCT.md, "What agencies receive")."""

from __future__ import annotations

import pytest
from sqlalchemy import delete

from idp.clients import scopes as sc
from idp.oidc.claims import releasable_scopes
from idp.authorizations.models import Consent

from ..support.factories import make_client
from ..support.flows import Agency
from ..support.protocol import id_token_claims
from ..support.statements import statements_of

APPROVED = ["openid", "profile", "email", "address", "natural_identity", "verified_claims"]


@pytest.mark.parametrize(
    ("allowed", "requested", "consented", "released"),
    [
        pytest.param("openid profile email", "openid profile email", "profile email", {"openid", "profile", "email"},
                     id="all_three_agree"),
        pytest.param("openid profile", "openid profile natural_identity", "profile natural_identity",
                     {"openid", "profile"}, id="not_approved"),
        pytest.param("openid profile email", "openid profile", "profile email", {"openid", "profile"},
                     id="not_requested"),
        pytest.param("openid profile email", "openid profile email", "profile", {"openid", "profile"},
                     id="not_consented"),
        pytest.param("openid profile", "openid profile", None, {"openid"}, id="no_consent_at_all"),
        pytest.param("profile", "openid profile", "profile", {"profile"}, id="openid_not_allowed"),
    ],
)
def test_releasable_scopes_are_allowed_requested_and_consented(allowed, requested, consented, released):
    assert releasable_scopes(allowed, requested, consented) == released


def scopes_behind(claims: dict) -> set[str]:
    """The scopes whose claims appear in an ID token or a userinfo response."""
    return {scope for scope, names in sc.SCOPE_CLAIMS.items() if any(n in claims for n in names)}


def withdraw_consent(db, agency) -> None:
    db.session.execute(delete(Consent).where(Consent.client_pk == agency.client.id))
    db.session.commit()


def reduce_approval(db, agency) -> None:
    agency.client.allowed_scopes = "openid profile"
    db.session.commit()


CASES = {
    # name: (allowed scopes, requested scope, what happens after the tokens were issued, released then)
    "basic": (None, "openid profile email", None, {"openid", "profile", "email"}),
    "sensitive_not_approved": (None, "openid profile natural_identity verified_claims", None, {"openid", "profile"}),
    "sensitive_approved": (APPROVED, "openid profile natural_identity verified_claims", None,
                           {"openid", "profile", "natural_identity", "verified_claims"}),
    "consent_withdrawn_afterwards": (APPROVED, "openid profile natural_identity", withdraw_consent, {"openid"}),
    "approval_reduced_afterwards": (APPROVED, "openid profile natural_identity verified_claims", reduce_approval,
                                    {"openid", "profile"}),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_id_token_userinfo_and_introspection_release_the_same_scopes(case, client, citizen, rt, db):
    allowed, requested, afterwards, released = CASES[case]
    citizen.account.verified_at, citizen.account.verification_method = rt.now(), "in_person"
    db.session.commit()
    c, secret = make_client(rt, scopes=allowed)
    agency = Agency(client, c, secret)
    citizen.signed_in_quickly()
    body = agency.tokens(scope=requested)
    if afterwards is None:
        assert scopes_behind(id_token_claims(rt, body["id_token"])) == released
    else:
        afterwards(db, agency)
    userinfo = agency.userinfo(body["access_token"])
    assert userinfo.status_code == 200, "a scope not released is never an error"
    assert scopes_behind(userinfo.get_json()) == released
    introspected = agency.introspect(body["access_token"]).get_json()
    assert introspected["active"] is True
    assert set(introspected["scope"].split()) == released


def test_userinfo_reads_the_token_its_client_account_and_consent_in_one_statement(citizen, agency, db):
    citizen.signed_in_quickly()
    access = agency.tokens()["access_token"]
    response, statements = statements_of(db, lambda: agency.userinfo(access))
    assert response.get_json()["family_name"] == "Kovács"
    assert [s for s in statements if s.lstrip().upper().startswith("SELECT")] == [statements[0]], statements
    assert "consent" in statements[0]
