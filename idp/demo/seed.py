"""Demo data: an office, a citizen with a known password, two agencies."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from idp.accounts.service import PersonalData, create_test_citizen, find_by_username
from idp.clients.metadata import ClientMetadata, validate
from idp.clients.service import create_client, find
from idp.extensions import db
from idp.offices.models import Office

DEMO_USERNAME = "demo.polgar"
DEMO_PASSWORD = "kek-alma-reggel-fut"

AGENCIES = (
    ("agency1", "Demo Adóhivatal", "#0b5d1e"),
    ("agency2", "Demo Egészségügyi Portál", "#7a1f5c"),
)


def seed(rt, secrets_store: dict, agency_base: dict[str, str]) -> None:
    now = rt.now()
    office = db.session.scalar(select(Office).where(Office.code == "DEMO-01"))
    if office is None:
        office = Office(code="DEMO-01", name="Demo Kormányablak, Budapest XI.", address="1117 Budapest, Demo utca 1.", created_at=now)
        db.session.add(office)
        db.session.flush()
    if find_by_username(db.session, DEMO_USERNAME) is None:
        create_test_citizen(
            db.session,
            rt.passwords,
            now,
            rt.policy,
            DEMO_USERNAME,
            DEMO_PASSWORD,
            PersonalData(
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
                document_type="identity_card",
                document_number="123456AB",
            ),
            office_id=office.id,
        )
    for key, name, _color in AGENCIES:
        entry = secrets_store.setdefault("clients", {}).get(key)
        if entry and find(db.session, entry["client_id"]) is not None:
            continue
        base = agency_base[key]
        meta = validate(
            ClientMetadata(
                name=name,
                redirect_uris=[f"{base}/callback"],
                post_logout_redirect_uris=[f"{base}/"],
            ),
            supported_algs=rt.keyring.supported_algorithms(),
            allow_loopback_http=True,
        )
        client, secret = create_client(db.session, now, meta, created_via="demo")
        secrets_store["clients"][key] = {"client_id": client.client_id, "client_secret": secret}
    db.session.commit()
