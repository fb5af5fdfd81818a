"""The demo's part of issue 3: a demo officer with a printed TOTP secret, mail written to an outbox
under the demo's folder, and the outbox shown on the provider only when the demo registers it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from idp.demo import outbox
from idp.demo.run import demo_settings
from idp.demo.seed import DEMO_OFFICER_PASSWORD, DEMO_OFFICER_USERNAME, seed
from idp.offices.service import find_officer
from idp.security import totp

from ..conftest import make_settings
from ..support.console import sign_in_officer
from ..support.lifecycle import OfficerLogin
from ..support.smtp import find_code

AGENCY_BASE = {"agency1": "http://127.0.0.1:9", "agency2": "http://127.0.0.1:10"}


@pytest.fixture
def settings(database_url, keys_dir, tmp_path):
    return make_settings(database_url, keys_dir, mail={"outbox_dir": str(tmp_path / "outbox")})


def test_outbox_page_is_not_part_of_the_provider(client):
    assert client.get("/demo/outbox/").status_code == 404


def test_demo_shows_the_outbox_and_each_mail(app, client, rt):
    outbox.init_app(app)
    assert client.get("/demo/outbox/").status_code == 200
    rt.mailer.send_template("anna@example.hu", "activation_code", "hu", name="Kiss Anna", code="ABCD-EFGH",
                            valid_until=rt.now(), activation_url=f"{rt.issuer}/activate")
    listing = client.get("/demo/outbox/").get_data(as_text=True)
    assert "anna@example.hu" in listing
    link = re.search(r'href="(/demo/outbox/[^"]+\.eml)"', listing).group(1)
    mail = client.get(link).get_data(as_text=True)
    assert find_code(mail.split('id="mail-text">', 1)[1]) == "ABCD-EFGH"
    assert client.get("/demo/outbox/../secrets.json").status_code == 404
    assert client.get("/demo/outbox/20260101T000000.000000000Z-00000000.eml").status_code == 404


def test_demo_officer_signs_in_with_the_printed_totp_secret(client, rt, db):
    store: dict = {}
    seed(rt, store, AGENCY_BASE)
    officer = find_officer(db.session, DEMO_OFFICER_USERNAME)
    assert officer is not None and store["officer"]["otpauth_uri"].startswith("otpauth://totp/")
    login = OfficerLogin(officer, store["officer"]["totp_secret"], store["officer"]["otpauth_uri"],
                         DEMO_OFFICER_PASSWORD)
    assert sign_in_officer(client, rt, login).headers["Location"] == "/office/"


def test_seeding_again_keeps_the_secret_and_a_new_secrets_file_gets_a_new_one(rt, db):
    store: dict = {}
    seed(rt, store, AGENCY_BASE)
    first = store["officer"]["totp_secret"]
    seed(rt, store, AGENCY_BASE)
    assert store["officer"]["totp_secret"] == first
    fresh: dict = {"clients": store["clients"]}
    seed(rt, fresh, AGENCY_BASE)
    renewed = fresh["officer"]["totp_secret"]
    assert renewed != first
    officer = find_officer(db.session, DEMO_OFFICER_USERNAME)
    assert totp.matching_step(rt.sealer.unseal(officer.totp_secret_sealed), totp.code_at(renewed, rt.now()), rt.now())


def test_demo_writes_mail_to_an_outbox_in_its_folder(tmp_path):
    store = {"secret_key": "k" * 48, "keys_passphrase": "p" * 32, "pairwise_secret": "w" * 48}
    settings = demo_settings(5000, tmp_path / "demo", store)
    assert settings.mail.backend == "outbox"
    assert Path(settings.mail.outbox_dir) == (tmp_path / "demo" / "outbox").resolve()
