"""PRODUCT.md rule 2: identity card, passport, or a driving licence issued after 2001-01-01;
an expired document is refused. Pure rules: no app, no database."""

from __future__ import annotations

from datetime import date

import pytest

from idp.accounts.documents import DOCUMENT_RULES, REASONS, RULES_BY_TYPE, Document, check_document
from idp.accounts.errors import AccountError

TODAY = date(2026, 1, 15)
ISSUED = date(2020, 5, 4)
EXPIRES = date(2030, 5, 4)


def check(doc_type="identity_card", number="123456AB", issued_on=ISSUED, expires_on=EXPIRES, today=TODAY):
    return check_document(doc_type, number, issued_on, expires_on, today)


def refused(**kwargs) -> str:
    with pytest.raises(AccountError) as exc:
        check(**kwargs)
    return exc.value.reason


# --- the licence rule: "2001. január 1. után kiállított vezetői engedély" ---------------------

def test_a_licence_issued_on_2001_01_01_is_refused():
    assert refused(doc_type="driving_licence", number="CA123456", issued_on=date(2001, 1, 1),
                   expires_on=date(2031, 1, 1)) == "licence_issued_too_early"


def test_a_licence_issued_on_2001_01_02_is_accepted():
    doc = check(doc_type="driving_licence", number="CA123456", issued_on=date(2001, 1, 2), expires_on=date(2031, 1, 2))
    assert doc == Document("driving_licence", "CA123456", date(2001, 1, 2), date(2031, 1, 2))


def test_a_licence_issued_before_2001_is_refused():
    assert refused(doc_type="driving_licence", number="CA123456", issued_on=date(1995, 6, 1),
                   expires_on=date(2030, 1, 1)) == "licence_issued_too_early"


@pytest.mark.parametrize("doc_type, number", [("identity_card", "123456AB"), ("passport", "BE1234567")])
def test_only_the_licence_has_an_earliest_issue_date(doc_type, number):
    assert check(doc_type=doc_type, number=number, issued_on=date(1999, 3, 1), expires_on=date(2029, 3, 1))


# --- expiry ----------------------------------------------------------------------------------

def test_an_expired_document_is_refused():
    assert refused(expires_on=date(2026, 1, 14)) == "document_expired"


def test_a_document_expiring_today_is_still_accepted():
    assert check(expires_on=TODAY).expires_on == TODAY


@pytest.mark.parametrize("doc_type, number", [("passport", "BE1234567"), ("driving_licence", "CA123456")])
def test_a_passport_or_licence_without_expiry_date_is_refused(doc_type, number):
    assert refused(doc_type=doc_type, number=number, expires_on=None) == "document_expiry_missing"


def test_an_identity_card_valid_indefinitely_is_accepted():
    assert check(expires_on=None).expires_on is None


# --- number formats and normalisation ----------------------------------------------------------

@pytest.mark.parametrize(
    "doc_type, typed, stored",
    [
        ("identity_card", "123456ab", "123456AB"),
        ("identity_card", " 123 456 AB ", "123456AB"),
        ("identity_card", "123456-AB", "123456AB"),
        ("passport", "be 1234567", "BE1234567"),
        ("passport", "BE-123-4567", "BE1234567"),
        ("driving_licence", "ca 123456", "CA123456"),
        ("driving_licence", "CA\u2013123456", "CA123456"),  # an en dash pasted from a form
    ],
)
def test_a_number_is_stored_upper_case_without_spaces_or_dashes(doc_type, typed, stored):
    assert check(doc_type=doc_type, number=typed).number == stored


@pytest.mark.parametrize(
    "doc_type, number",
    [
        ("identity_card", "AB123456"),  # the pre-2000 booklet format, not accepted
        ("identity_card", "12345AB"),
        ("identity_card", "1234567AB"),
        ("identity_card", "123456A1"),
        ("identity_card", "123456ÁB"),  # letters are Latin A-Z only
        ("identity_card", "１２３４５６AB"),  # full-width digits are not digits here
        ("passport", "BE123456"),  # six digits: the pre-2006 format, every such passport has expired
        ("passport", "B1234567"),
        ("passport", "1234567BE"),
        ("driving_licence", "CA1234567"),
        ("driving_licence", "123456CA"),
        ("driving_licence", ""),
        ("passport", "BE1234567X"),
        ("identity_card", "123456AB/1"),
    ],
)
def test_a_number_not_in_the_documents_format_is_refused(doc_type, number):
    assert refused(doc_type=doc_type, number=number) == "document_number_invalid"


def test_a_number_that_is_not_text_is_refused():
    assert refused(number=123456) == "document_number_invalid"


def test_each_example_number_in_the_table_is_valid_for_its_own_type_only():
    for rule in DOCUMENT_RULES:
        for other in DOCUMENT_RULES:
            assert other.number_matches(rule.number_example) == (other is rule), (rule.doc_type, other.doc_type)


def test_the_table_has_one_row_per_accepted_document():
    assert set(RULES_BY_TYPE) == {"identity_card", "passport", "driving_licence"}
    assert RULES_BY_TYPE["driving_licence"].issued_after == date(2001, 1, 1)


# --- every reason, named by its code ----------------------------------------------------------

REFUSALS = {
    "document_type_unknown": dict(doc_type="student_card"),
    "document_number_invalid": dict(number="12345"),
    "document_issued_in_future": dict(issued_on=date(2026, 1, 16)),
    "document_expiry_missing": dict(doc_type="passport", number="BE1234567", expires_on=None),
    "document_dates_inconsistent": dict(issued_on=date(2024, 1, 1), expires_on=date(2023, 12, 31)),
    "licence_issued_too_early": dict(doc_type="driving_licence", number="CA123456", issued_on=date(2000, 12, 31)),
    "document_expired": dict(issued_on=date(2010, 1, 1), expires_on=date(2020, 1, 1)),
}


@pytest.mark.parametrize("reason", sorted(REFUSALS), ids=sorted(REFUSALS))
def test_each_refusal_names_its_reason(reason):
    assert refused(**REFUSALS[reason]) == reason


def test_every_declared_reason_is_tested():
    assert set(REFUSALS) == set(REASONS)


def test_a_document_expiring_on_its_issue_date_is_inconsistent():
    assert refused(issued_on=date(2024, 1, 1), expires_on=date(2024, 1, 1)) == "document_dates_inconsistent"


def test_a_document_issued_today_is_accepted():
    assert check(issued_on=TODAY).issued_on == TODAY
