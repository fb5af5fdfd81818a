"""``verified_claims`` (OpenID Connect for Identity Assurance 1.0): only for approved clients, with the
evidence of how the identity was verified: in person with a document, or by electronic signature."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from idp.accounts.erasure import erase
from idp.accounts.states import AccountState
from idp.extensions import db
from idp.oidc.claims import Subject, user_claims
from idp.oidc.verified_claims import TRUST_FRAMEWORK

from ..support.factories import make_account, make_client
from ..support.flows import Agency, Citizen
from ..support.protocol import id_token_claims

APPROVED = ["openid", "profile", "natural_identity", "verified_claims"]
SCOPE = "openid profile natural_identity verified_claims"
CA = "CN=Teszt Minősített CA,O=Teszt Kft.,C=HU"


def verified_in_person(rt, **fields):
    return make_account(rt, verified_at=rt.now() - timedelta(days=20), verification_method="in_person",
                        document_type="passport", document_number="BE1234567",
                        document_issued_on=date(2020, 5, 1), document_expires_on=date(2030, 5, 1), **fields)


def verified_by_signature(rt):
    return make_account(rt, verification_method="e_signature",
                        verified_at=rt.now() - timedelta(days=3), statement_signed_at=rt.now() - timedelta(days=3, hours=1),
                        signature_certificate_issuer=CA, signature_certificate_serial="4F2A19",
                        document_type="identity_card", document_number="654321CD")


def sign_in_and_get_tokens(client, rt, account, allowed, scope=SCOPE) -> tuple[Agency, dict]:
    c, secret = make_client(rt, scopes=allowed)
    agency = Agency(client, c, secret)
    Citizen(client, rt, account).signed_in_quickly()
    return agency, agency.tokens(scope=scope)


def test_a_client_not_approved_gets_a_valid_response_without_verified_claims(client, rt):
    account = verified_in_person(rt)
    agency, body = sign_in_and_get_tokens(client, rt, account, allowed=None)
    assert set(body["scope"].split()) == {"openid", "profile"}
    info = agency.userinfo(body["access_token"])
    assert info.status_code == 200
    assert "verified_claims" not in info.get_json() and "birth_family_name" not in info.get_json()
    assert "verified_claims" not in id_token_claims(rt, body["id_token"])


def test_in_person_verification_states_the_document_but_never_its_number(client, rt):
    account = verified_in_person(rt)
    agency, body = sign_in_and_get_tokens(client, rt, account, allowed=APPROVED)
    info = agency.userinfo(body["access_token"]).get_json()
    verification = info["verified_claims"]["verification"]
    assert verification["trust_framework"] == TRUST_FRAMEWORK
    assert verification["time"] == account.verified_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    (evidence,) = verification["evidence"]
    assert evidence["type"] == "document"
    assert [c["check_method"] for c in evidence["check_details"]] == ["vpip", "pvp"]
    assert evidence["document_details"] == {
        "type": "passport", "issuer": {"country_code": "HUN"}, "date_of_expiry": "2030-05-01",
    }
    assert info["verified_claims"]["claims"] == {
        "family_name": "Kovács", "given_name": account.given_name, "birthdate": account.birth_date.isoformat(),
        "birth_family_name": "Nagy", "birth_given_name": account.birth_given_name,
        "place_of_birth": {"locality": "Debrecen", "country": "HU"},
    }
    assert "BE1234567" not in json.dumps(info)
    assert id_token_claims(rt, body["id_token"])["verified_claims"] == info["verified_claims"]


def test_electronic_signature_verification_names_the_certificate_and_covers_only_the_name(client, rt):
    account = verified_by_signature(rt)
    agency, body = sign_in_and_get_tokens(client, rt, account, allowed=APPROVED)
    verified = agency.userinfo(body["access_token"]).get_json()["verified_claims"]
    assert verified["verification"]["evidence"] == [{
        "type": "electronic_signature", "signature_type": "aes", "issuer": CA, "serial_number": "4F2A19",
        "created_at": account.statement_signed_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }]
    assert verified["claims"] == {"family_name": "Kovács", "given_name": account.given_name}


def test_verified_claims_carry_only_claims_the_client_receives(client, rt):
    account = verified_in_person(rt)
    agency, body = sign_in_and_get_tokens(client, rt, account, allowed=APPROVED, scope="openid profile verified_claims")
    info = agency.userinfo(body["access_token"]).get_json()
    assert set(info["verified_claims"]["claims"]) == {"family_name", "given_name", "birthdate"}
    # With no scope whose claims a verification covers there is nothing to state.
    agency, body = sign_in_and_get_tokens(client, rt, account, allowed=APPROVED, scope="openid verified_claims")
    assert "verified_claims" not in agency.userinfo(body["access_token"]).get_json()


def test_an_unverified_account_gets_no_verified_claims(client, rt):
    account = make_account(rt)  # never verified: e.g. data from before verification was recorded
    agency, body = sign_in_and_get_tokens(client, rt, account, allowed=APPROVED)
    assert "verified_claims" not in agency.userinfo(body["access_token"]).get_json()


@pytest.mark.parametrize("verified", [verified_in_person, verified_by_signature], ids=["in_person", "e_signature"])
def test_a_citizen_whose_data_was_erased_releases_nothing(verified, client, rt):
    account = verified(rt)
    agency, body = sign_in_and_get_tokens(client, rt, account, allowed=APPROVED)
    erase(account, rt.now(), AccountState.DELETED)
    db.session.commit()
    assert agency.userinfo(body["access_token"]).status_code == 401
    # The rule itself, asked about the erased record, finds nothing to release but the pseudonym.
    released = user_claims(Subject(account, agency.client, "profile natural_identity verified_claims"), SCOPE, b"k" * 32)
    assert set(released) == {"sub"}


def test_a_test_citizen_counts_as_verified_in_person(client, rt):
    from idp.accounts.registration import create_test_citizen
    from idp.cli.citizens import test_person

    account = create_test_citizen(db.session, rt.passwords, rt.now(), rt.policy,
                                  test_person("teszt.elek", "Teszt", "Elek", "teszt.elek@teszt.invalid"),
                                  "zold-fenyo-delben-harangoz", document_number="000001TA")
    db.session.commit()
    agency, body = sign_in_and_get_tokens(client, rt, account, allowed=APPROVED)
    info = agency.userinfo(body["access_token"]).get_json()
    assert info["https://ugyfelkapu.gov.hu/claims/test_account"] is True
    assert info["verified_claims"]["verification"]["evidence"][0]["document_details"]["type"] == "idcard"


def test_discovery_states_what_verified_claims_can_hold(client):
    meta = client.get("/.well-known/openid-configuration").get_json()
    assert "verified_claims" in meta["scopes_supported"] and "verified_claims" in meta["claims_supported"]
    assert meta["verified_claims_supported"] is True
    assert meta["trust_frameworks_supported"] == [TRUST_FRAMEWORK]
    assert set(meta["evidence_supported"]) == {"document", "electronic_signature"}
    assert set(meta["documents_supported"]) == {"idcard", "passport", "driving_permit"}
    assert "place_of_birth" in meta["claims_in_verified_claims_supported"]


@pytest.mark.parametrize(("lang", "label"), [("hu", "Személyazonossága ellenőrzésének módja"),
                                             ("en", "How your identity was verified")])
def test_the_consent_page_names_verified_claims_in_plain_words(lang, label, client, rt):
    account = verified_in_person(rt)
    c, secret = make_client(rt, scopes=APPROVED)
    agency = Agency(client, c, secret)
    Citizen(client, rt, account).signed_in_quickly()
    page = agency.visit(scope=SCOPE, ui_locales=lang)
    html = page.get_data(as_text=True)
    assert 'name="decision"' in html
    assert label in html
