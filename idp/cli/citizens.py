"""``idp citizens``: test citizens for agencies' integration environments (active, verified,
marked as test accounts)."""

from __future__ import annotations

import secrets
from datetime import date, timedelta

import click
from flask.cli import with_appcontext

from idp.accounts.errors import AccountError
from idp.accounts.personal import Registration
from idp.accounts.registration import create_test_citizen
from idp.cli.options import emit, runtime
from idp.extensions import db


@click.group("citizens", help="Citizen accounts.")
def citizens_cli():
    pass


@citizens_cli.command("add-test")
@click.option("--username", required=True)
@click.option("--password", required=True, help="At least 15 characters, not a common password.")
@click.option("--family-name", default="Teszt")
@click.option("--given-name", default="Polgár")
@click.option("--email", default=None)
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def citizens_add_test(username, password, family_name, given_name, email, as_json):
    """An active, verified test citizen for agencies' integration environments (marked as a test account)."""
    rt = runtime()
    data = test_person(username, family_name, given_name, email or f"{username}@teszt.invalid")
    try:
        account = create_test_citizen(
            db.session, rt.passwords, rt.now(), rt.policy, data, password,
            document_number=f"{secrets.randbelow(10**6):06d}TA",
        )
    except AccountError as exc:
        raise click.ClickException(exc.reason) from None
    db.session.commit()
    emit(
        {
            "identifier": account.identifier,
            "username": account.username,
            "state": account.state.value,
            "test_account": True,
            "valid_until": account.valid_until.isoformat() if account.valid_until else None,
        },
        as_json,
    )


def test_person(username: str, family_name: str, given_name: str, email: str) -> Registration:
    """Plausible, unique placeholder data for a test citizen."""
    born = date(1960, 1, 1) + timedelta(days=secrets.randbelow(40 * 365))
    return Registration(
        username=username,
        family_name=family_name,
        given_name=given_name,
        birth_family_name=family_name,
        birth_given_name=given_name,
        mother_birth_family_name="Teszt",
        mother_birth_given_name=f"Anya {secrets.token_hex(3)}",
        birth_place="Budapest",
        birth_date=born,
        email=email,
        address_postal_code="1011",
        address_locality="Budapest",
        address_street="Teszt utca 1.",
    )
