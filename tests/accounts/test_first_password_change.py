"""The first password change right after activation needs no current password (the page proved it a
moment ago); every other change does (ASVS 5.0 V6.2.3)."""

from __future__ import annotations

import pytest

from idp.accounts.errors import AccountError
from idp.lifecycle import citizen

from ..support.factories import make_account
from ..support.lifecycle import NEW_PASSWORD, context


def test_without_the_current_password_only_an_initial_password_is_replaced(rt, db):
    active = make_account(rt)
    with pytest.raises(AccountError) as refused:
        citizen.change_password(context(rt), active, None, NEW_PASSWORD, rt.now())
    assert refused.value.reason == "password_wrong"

    newcomer = make_account(rt, initial_password=True)
    citizen.change_password(context(rt), newcomer, None, NEW_PASSWORD, rt.now())
    db.session.refresh(newcomer)
    assert not newcomer.must_change_password
