"""Names and addresses refuse markup and control characters, and over-long input with a message,
never cut silently (issue 12, "Names")."""

from __future__ import annotations

from datetime import date

import pytest

from idp.accounts.personal import field_problem

TODAY = date(2026, 12, 3)


@pytest.mark.parametrize("value", ["Kiss-Nagy", "O'Brien", "Kovács Jr.", "ifj. Szabó", "Łukasz", "Ádám Éva", "D’Artagnan"])
def test_names_as_people_write_them_are_accepted(value):
    assert field_problem("given_name", value, TODAY) is None


@pytest.mark.parametrize("value", ["Béla<b>x</b>", "Béla<script>", "Béla\tKiss", "Béla\nKiss", "Béla\u0000", "Béla\u202e",
                                   "Béla{{7*7}}", "Béla&amp;"])
def test_markup_and_control_characters_in_a_name_are_refused(value):
    assert field_problem("given_name", value, TODAY) == "name_characters"


def test_an_over_long_name_is_refused_never_cut():
    assert field_problem("family_name", "á" * 300, TODAY) == "name_too_long"
    assert field_problem("family_name", "á" * 100, TODAY) is None


@pytest.mark.parametrize("value", ["Budapest XI.", "Szeged (Tápé)", "Budapest 1/A"])
def test_places_may_have_digits_and_the_marks_of_a_place(value):
    assert field_problem("birth_place", value, TODAY) is None
    assert field_problem("address_locality", value, TODAY) is None


def test_markup_in_a_place_is_refused():
    assert field_problem("birth_place", "Budapest<i>", TODAY) == "place_characters"


def test_a_street_refuses_markup_and_control_characters_and_says_when_too_long():
    assert field_problem("address_street", "Fő utca 1/A. 2. em. 3.", TODAY) is None
    assert field_problem("address_street", 'Fő utca <img src=x onerror="a">', TODAY) == "street_characters"
    assert field_problem("address_street", "Fő utca\u0007 1.", TODAY) == "street_characters"
    assert field_problem("address_street", "x" * 201, TODAY) == "street_too_long"
