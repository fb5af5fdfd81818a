"""The citizen's lifecycle pages (rules 1, 3, 5–8) through the Flask test client: online
pre-registration, electronic registration with a detached signature, activation with the
mailed code, the forced password change, and the validity page. The rules are tested on the
services; here, that each page calls them, keeps what was typed, and shows each refusal at
its input."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from idp.accounts import esign
from idp.accounts.models import Account
from idp.accounts.states import AccountState
from idp.audit import events
from idp.mail import list_outbox
from idp.settings import resolve_path
from idp.web import messages as msgs

from ..conftest import make_settings
from ..support.console import (
    document_form,
    field_error,
    field_problem_text,
    follow,
    outbox_code,
    personal_form,
    read_sheet,
    reason_text,
    submit,
    text_of,
)
from ..support.factories import make_account
from ..support.flows import Citizen, csrf_of
from ..support.lifecycle import NEW_PASSWORD, context, identity_card, register_in_person, registration_data
from ..support.pki import make_root_ca, sign_detached, write_anchor


@pytest.fixture
def settings(database_url, keys_dir, tmp_path):
    return make_settings(
        database_url, keys_dir,
        mail={"outbox_dir": str(tmp_path / "outbox")},
        keys={"dir": str(keys_dir), "trusted_ca_dir": str(tmp_path / "trusted-ca"),
              "trusted_tsa_dir": str(tmp_path / "trusted-tsa"), "crl_dir": str(tmp_path / "crl")},
    )


def signed_in(http, rt) -> bool:
    return 'action="/logout"' in http.get("/").get_data(as_text=True)


# -- online pre-registration -------------------------------------------------------------------

TOKENS = {
    "family_name": "family-name", "given_name": "given-name", "birth_date": "bday", "email": "email",
    "address_postal_code": "postal-code", "address_locality": "address-level2",
    "address_street": "street-address", "username": "username",
}


def test_register_page_labels_every_input_and_names_autocomplete_tokens(client):
    html = client.get("/register").get_data(as_text=True)
    csrf_of(html)
    for name in personal_form(registration_data()):
        assert f'<label for="{name}">' in html, name
    for name, token in TOKENS.items():
        assert re.search(rf'<input id="{name}" name="{name}" type="[a-z]+" autocomplete="{token}"', html), name
    assert re.search(r'<input id="mother_birth_family_name"[^>]*autocomplete="off"', html)


def test_pre_registration_shows_the_number_and_what_to_bring(client, rt, db):
    data = registration_data()
    done = submit(client, "/register", personal_form(data))
    assert done.headers["Location"] == "/register/number"
    page = text_of(client.get("/register/number"))
    account = db.session.scalar(select(Account).where(Account.username == data.username))
    assert account.state is AccountState.PENDING_VERIFICATION
    assert account.registration_number in page and data.email in page
    assert "2001" in page  # the driving licence's rule, from the document table
    assert client.get("/register/number").status_code == 200, "the number may be shown again"


def test_pre_registration_refusal_is_shown_at_each_field_and_keeps_what_was_typed(app, client, rt, db):
    data = registration_data()
    form = {**personal_form(data), "family_name": "", "birth_date": "1970-13-45", "address_postal_code": "12"}
    html = follow(client, submit(client, "/register", form)).get_data(as_text=True)
    assert field_problem_text(app, "field_required") in field_error(html, "family_name")
    assert field_problem_text(app, "birth_date_invalid") in field_error(html, "birth_date")
    assert field_problem_text(app, "postal_code_invalid") in field_error(html, "address_postal_code")
    assert field_error(html, "given_name") is None
    assert f'value="{data.given_name}"' in html and f'value="{data.email}"' in html
    assert re.search(r'<a href="#family_name">', html), "the summary links to the input"
    assert db.session.scalar(select(Account).where(Account.username == data.username)) is None


def test_a_taken_username_is_shown_at_the_username(app, client, rt):
    make_account(rt, username="foglalt.nev")
    html = follow(client, submit(client, "/register", personal_form(registration_data(username="Foglalt.Nev")))).get_data(
        as_text=True
    )
    assert field_error(html, "username") == reason_text(app, "username_taken")


def test_the_number_page_without_a_registration_leads_to_the_form(client):
    assert client.get("/register/number").headers["Location"] == "/register"


# -- electronic registration --------------------------------------------------------------------


@pytest.fixture
def pki(rt):
    root = make_root_ca("Teszt Minősített Hitelesítés-szolgáltató")
    write_anchor(resolve_path(rt.settings.keys.trusted_ca_dir), "root.pem", root)
    return root


def electronic_document(client, rt, **data) -> tuple[bytes, object]:
    registration = registration_data(**data)
    form = {**personal_form(registration), **document_form(identity_card(rt.now().date()))}
    assert submit(client, "/register/electronic", form).headers["Location"] == "/register/electronic/sign"
    sign_page = client.get("/register/electronic/sign").get_data(as_text=True)
    assert 'id="download-document"' in sign_page
    download = client.get("/register/electronic/document")
    assert download.headers["Content-Disposition"].startswith("attachment")
    return download.data, registration


def upload(client, document: bytes, signature: bytes):
    page = client.get("/register/electronic/sign").get_data(as_text=True)
    return client.post("/register/electronic/sign", data={
        "csrf_token": csrf_of(page),
        "document": (io.BytesIO(document), "ugyfelkapu-regisztracio.txt"),
        "signature": (io.BytesIO(signature), "ugyfelkapu-regisztracio.txt.p7s"),
    }, content_type="multipart/form-data")


def test_electronic_registration_shows_the_sheet_once(client, rt, db, pki):
    document, data = electronic_document(client, rt)
    citizen = pki.issue_citizen(data.family_name, data.given_name)
    registered = upload(client, document, sign_detached(citizen, document))
    assert registered.headers["Location"] == "/register/electronic/sheet"
    shown = client.get("/register/electronic/sheet")
    assert shown.headers["Cache-Control"] == "no-store"
    sheet = read_sheet(shown.get_data(as_text=True))
    account = db.session.scalar(select(Account).where(Account.identifier == sheet.identifier))
    assert account.state is AccountState.AWAITING_ACTIVATION and account.registration_channel == "e_signature"
    assert rt.passwords.verify(account.password_hash, sheet.initial_password).ok
    assert client.get("/register/electronic/sheet").status_code == 410


def test_an_electronic_document_edited_after_download_is_refused_at_the_document(app, client, rt, db, pki):
    document, data = electronic_document(client, rt)
    citizen = pki.issue_citizen(data.family_name, data.given_name)
    tampered = document.replace(data.address_street.encode(), b"Hamis utca 1.")
    html = follow(client, upload(client, tampered, sign_detached(citizen, tampered))).get_data(as_text=True)
    assert field_error(html, "document") == reason_text(app, "registration_document_modified")
    assert db.session.scalar(select(Account).where(Account.username == data.username)) is None


def test_a_signature_over_other_bytes_is_refused_at_the_signature(app, client, rt, db, pki):
    document, data = electronic_document(client, rt)
    citizen = pki.issue_citizen(data.family_name, data.given_name)
    html = follow(client, upload(client, document, sign_detached(citizen, document + b"\n"))).get_data(as_text=True)
    assert field_error(html, "signature") == reason_text(app, "signature_invalid")
    assert db.session.scalar(select(Account).where(Account.username == data.username)) is None


def test_an_electronic_document_past_its_lifetime_is_refused_at_the_document(app, client, rt, db, pki):
    document, data = electronic_document(client, rt)
    citizen = pki.issue_citizen(data.family_name, data.given_name)
    rt.clock.advance(days=rt.settings.policy.registration_document_days, minutes=1)
    html = follow(client, upload(client, document, sign_detached(citizen, document))).get_data(as_text=True)
    assert field_error(html, "document") == reason_text(app, "registration_document_expired")
    assert db.session.scalar(select(Account).where(Account.username == data.username)) is None


def test_a_revoked_certificate_is_refused_at_the_signature_with_the_operators_crl(app, client, rt, db, pki):
    document, data = electronic_document(client, rt)
    citizen = pki.issue_citizen(data.family_name, data.given_name, crl_url="http://crl.example.hu/root.crl")
    crl_dir = resolve_path(rt.settings.keys.crl_dir)
    crl_dir.mkdir(parents=True, exist_ok=True)
    (crl_dir / "root.crl").write_bytes(pki.crl([(citizen, rt.now() - timedelta(days=1))]))
    html = follow(client, upload(client, document, sign_detached(citizen, document))).get_data(as_text=True)
    assert field_error(html, "signature") == reason_text(app, "certificate_revoked")
    assert db.session.scalar(select(Account).where(Account.username == data.username)) is None


@pytest.mark.parametrize("reason", [
    *esign.REASONS, "registration_document_invalid", "registration_document_modified",
    "registration_document_expired", "statement_outdated",
])
def test_every_electronic_refusal_has_its_own_message_at_its_input(app, reason):
    assert reason in msgs.REASONS and msgs.FIELD_OF[reason] in {"document", "signature"}
    assert reason_text(app, reason) != str(msgs.GENERIC)


def test_the_provider_reads_the_operators_folders_at_each_registration(rt, pki, caplog):
    """No restart after a change; a file that does not belong makes its folder read as empty
    (and the log names it): for CRLs that refuses every certificate that names one."""
    tsa = pki.issue_tsa()
    write_anchor(resolve_path(rt.settings.keys.trusted_tsa_dir), "tsa.pem", tsa)
    crl_dir = resolve_path(rt.settings.keys.crl_dir)
    crl_dir.mkdir(parents=True, exist_ok=True)
    (crl_dir / "root.crl").write_bytes(pki.crl())
    assert (rt.trust_anchors(), rt.timestamp_authorities(), len(rt.crls())) == ([pki.der()], [tsa.der()], 1)
    (crl_dir / "broken.crl").write_bytes(b"not a CRL")
    assert rt.crls() == [] and "broken.crl" in caplog.text


def test_electronic_step_one_refuses_an_expired_document_at_its_field(app, client, rt):
    today = rt.now().date()
    form = {**personal_form(registration_data()),
            **document_form(identity_card(today, expires_on=today - timedelta(days=1)))}
    html = follow(client, submit(client, "/register/electronic", form)).get_data(as_text=True)
    assert field_error(html, "document_expires_on") == reason_text(app, "document_expired")


# -- activation and the forced password change -------------------------------------------------


@pytest.fixture
def sheet(rt):
    """A registration made at an office; its activation code is in the outbox."""
    return register_in_person(rt, context(rt, notifier=rt.mailer))


def activate(client, username: str, password: str, code: str):
    return submit(client, "/activate", {"username": username, "initial_password": password, "code": code})


def test_activation_page_names_the_one_time_code_input(client):
    html = client.get("/activate").get_data(as_text=True)
    assert re.search(r'<input id="code" name="code" type="text" autocomplete="one-time-code"', html)
    assert re.search(r'<input id="initial_password" name="initial_password" type="password"', html)


def test_activation_signs_in_and_the_forced_password_change_is_audited_and_mailed(client, rt, db, sheet):
    code = outbox_code(rt, sheet.account.email)
    activated = activate(client, sheet.username, sheet.initial_password, code.lower())
    assert activated.headers["Location"] == "/account/password"
    assert signed_in(client, rt)
    db.session.expire_all()
    account = db.session.get(Account, sheet.account.id)
    assert account.state is AccountState.ACTIVE and account.must_change_password

    page = client.get("/account/password").get_data(as_text=True)
    assert 'id="current_password"' not in page, "the initial password was typed a moment ago"
    changed = client.post("/account/password", data={
        "csrf_token": csrf_of(page), "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD})
    assert changed.status_code == 303
    db.session.expire_all()
    assert not db.session.get(Account, account.id).must_change_password
    # The change goes through the lifecycle service: audited, and the citizen is told by mail.
    assert events(db.session, account_id=account.id)[0].event == "password_changed"
    subjects = [e.subject for e in list_outbox(resolve_path(rt.settings.mail.outbox_dir), to=account.email)]
    assert len(subjects) == 2


def test_a_wrong_activation_code_says_how_many_attempts_are_left(app, client, rt, db, sheet):
    refused = activate(client, sheet.username, sheet.initial_password, "AAAA-AAAA")
    assert refused.status_code == 200 and "no-store" in refused.headers["Cache-Control"]
    html = refused.get_data(as_text=True)
    left = rt.policy.activation_attempts - 1
    assert field_error(html, "code") == reason_text(app, "activation_code_wrong", attempts_left=left)
    # What the citizen typed stays, the 23-character initial password included; only the code goes.
    assert f'value="{sheet.username}"' in html
    assert f'value="{sheet.initial_password}"' in html
    assert "AAAA-AAAA" not in html
    assert not signed_in(client, rt)


def test_a_wrong_initial_password_says_nothing_about_the_code(app, client, rt, sheet):
    html = text_of(activate(client, sheet.username, "not-the-initial-password", outbox_code(rt, sheet.account.email)))
    assert reason_text(app, "activation_failed") in html
    assert field_error(html, "code") is None


def test_activation_is_throttled_like_sign_in(app, client, rt, sheet):
    for _ in range(rt.settings.security.login_account_failures_before_delay):
        activate(client, sheet.username, "not-the-initial-password", "AAAA-AAAA")
    stopped = activate(client, sheet.username, sheet.initial_password, outbox_code(rt, sheet.account.email))
    assert stopped.status_code == 200 and "Location" not in stopped.headers
    assert not signed_in(client, rt)


# -- validity ------------------------------------------------------------------------------------


def test_validity_page_needs_a_sign_in(client):
    assert client.get("/account/validity").headers["Location"].startswith("/login?next=")


def test_the_citizen_extends_the_validity(client, rt, db):
    citizen = Citizen(client, rt, make_account(rt, valid_for=timedelta(days=10)))
    citizen.signed_in_quickly()
    page = client.get("/account/validity").get_data(as_text=True)
    assert 'id="extend"' in page
    extended = client.post("/account/validity", data={"csrf_token": csrf_of(page)})
    assert extended.headers["Location"] == "/account/validity"
    db.session.expire_all()
    assert db.session.get(Account, citizen.account.id).valid_until == rt.now() + rt.policy.account_validity
    assert events(db.session, account_id=citizen.account.id)[0].event == "validity_extended"


def test_validity_page_explains_an_account_with_initial_password(app, client, rt):
    Citizen(client, rt, make_account(rt, initial_password=True)).signed_in_quickly()
    page = text_of(client.get("/account/validity"))
    assert 'id="extend"' not in page and reason_text(app, "initial_password") in page


class TestUnderThe2009Rule:
    """No account end date, a password valid two years: nothing to extend, the page says so."""

    @pytest.fixture
    def settings(self, database_url, keys_dir, tmp_path):
        return make_settings(database_url, keys_dir, mail={"outbox_dir": str(tmp_path / "outbox")},
                             policy={"account_validity_days": 0, "password_max_age_days": 730})

    def test_validity_page_explains_there_is_nothing_to_extend(self, app, client, rt):
        Citizen(client, rt, make_account(rt, valid_for=None)).signed_in_quickly()
        response = client.get("/account/validity")
        page = text_of(response)
        assert 'id="extend"' not in page
        assert reason_text(app, "extension_not_applicable") in page
        refused = submit(client, "/account/password", {}, action="/account/validity")
        assert refused.headers["Location"] == "/account/validity"
