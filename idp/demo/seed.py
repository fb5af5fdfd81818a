"""Demo data: an office with an officer (password and TOTP secret printed by the demo), a citizen
with a known password, two agencies."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from idp.accounts.personal import Registration
from idp.accounts.registration import create_test_citizen
from idp.accounts.service import find_by_username
from idp.clients.metadata import ClientMetadata, validate
from idp.clients.service import create_client, find
from idp.extensions import db
from idp.offices.models import Office
from idp.offices.service import create_officer, find_officer, reset_totp

DEMO_OFFICE_CODE = "DEMO-01"
DEMO_USERNAME = "demo.polgar"
DEMO_PASSWORD = "kek-alma-reggel-fut"
DEMO_OFFICER_USERNAME = "demo.ugyintezo"
DEMO_OFFICER_PASSWORD = "pecset-tinta-hivatal-2026"

AGENCIES = (
    ("agency1", "Demo Adóhivatal", "#0b5d1e"),
    ("agency2", "Demo Egészségügyi Portál", "#7a1f5c"),
)


def seed(rt, secrets_store: dict, agency_base: dict[str, str]) -> None:
    now = rt.now()
    office = db.session.scalar(select(Office).where(Office.code == DEMO_OFFICE_CODE))
    if office is None:
        office = Office(code=DEMO_OFFICE_CODE, name="Demo Kormányablak, Budapest XI.", address="1117 Budapest, Demo utca 1.", created_at=now)
        db.session.add(office)
        db.session.flush()
    if find_by_username(db.session, DEMO_USERNAME) is None:
        create_test_citizen(
            db.session,
            rt.passwords,
            now,
            rt.policy,
            Registration(
                username=DEMO_USERNAME,
                family_name="Kovács",
                given_name="Éva",
                birth_family_name="Nagy",
                birth_given_name="Éva",
                mother_birth_family_name="Szabó",
                mother_birth_given_name="Mária",
                birth_place="Debrecen",
                birth_date=date(1985, 4, 12),
                email="kovacs.eva@demo.invalid",
                address_postal_code="1117",
                address_locality="Budapest",
                address_street="Október huszonharmadika utca 7.",
            ),
            DEMO_PASSWORD,
            document_number="123456AB",
            office_id=office.id,
        )
    _seed_officer(rt, office, secrets_store)
    for key, name, _color in AGENCIES:
        entry = secrets_store.setdefault("clients", {}).get(key)
        base = agency_base[key]
        existing = find(db.session, entry["client_id"]) if entry else None
        if existing is not None:
            existing.backchannel_logout_uri = existing.backchannel_logout_uri or f"{base}/backchannel-logout"
            continue
        meta = validate(
            ClientMetadata(
                name=name,
                redirect_uris=[f"{base}/callback"],
                post_logout_redirect_uris=[f"{base}/"],
                backchannel_logout_uri=f"{base}/backchannel-logout",
            ),
            supported_algs=rt.keyring.supported_algorithms(),
            allow_loopback_http=True,
        )
        client, secret = create_client(db.session, now, meta, created_via="demo")
        secrets_store["clients"][key] = {"client_id": client.client_id, "client_secret": secret}
    db.session.commit()


def _seed_officer(rt, office: Office, secrets_store: dict) -> None:
    """The demo officer of the demo office. Its TOTP secret is kept in the demo's secrets file, so
    the banner can print it at every start; when that file is new (new secrets, so the sealed
    secret in the database can no longer be read), the officer gets a new TOTP secret."""
    officer = find_officer(db.session, DEMO_OFFICER_USERNAME)
    if officer is not None and "officer" in secrets_store:
        return
    issuer = f"Ügyfélkapu demo ({office.code})"
    if officer is None:
        enrolment = create_officer(
            db.session, rt.passwords, rt.sealer, rt.now(), office, DEMO_OFFICER_USERNAME, "Demo Ügyintéző",
            DEMO_OFFICER_PASSWORD, issuer=issuer,
        )
    else:
        enrolment = reset_totp(db.session, rt.sealer, officer, issuer=issuer)
    secrets_store["officer"] = {"totp_secret": enrolment.totp_secret, "otpauth_uri": enrolment.provisioning_uri}
