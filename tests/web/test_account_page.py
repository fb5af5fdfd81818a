"""The citizen's account page (issue 4, "The account page"): personal data, sessions with sign-out,
the agencies allowed with withdrawal, and the access history of claim releases."""

from __future__ import annotations

import re

from sqlalchemy import select

from idp.authorizations.models import ClaimRelease, Consent
from idp.sessions.models import SsoSession

from ..support.factories import make_account, make_client
from ..support.flows import Agency, Citizen, csrf_of


def page_text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def agencies_signed_in(client, rt, citizen):
    a, sa = make_client(rt, name="NAV online")
    b, sb = make_client(rt, name="EESZT")
    a.agency, b.agency = "Nemzeti Adó- és Vámhivatal", "Egészségügyi Szolgáltatási Tér"
    from idp.extensions import db

    db.session.commit()
    first, second = Agency(client, a, sa), Agency(client, b, sb)
    citizen.sign_in()
    first_tokens = first.tokens(scope="openid profile")
    second_tokens = second.tokens(scope="openid email")
    return first, second, first_tokens, second_tokens


def test_the_page_needs_a_sign_in(client):
    response = client.get("/account")
    assert response.status_code == 303
    assert "/login" in response.headers["Location"]
    assert client.post("/account/sessions/end", data={"sid": "all"}).status_code in (303, 400)


def test_personal_data_are_shown_read_only_with_where_to_change_them(client, rt, citizen):
    citizen.sign_in()
    html = client.get("/account").get_data(as_text=True)
    assert citizen.account.family_name in html and citizen.account.username in html
    assert 'name="family_name"' not in html  # read-only: no inputs for personal data
    assert "nem módosíthatja" in html.lower() or "cannot change" in html.lower()


def test_after_two_agencies_the_page_lists_the_session_the_agencies_and_the_history(client, rt, citizen):
    first, second, _, second_tokens = agencies_signed_in(client, rt, citizen)
    assert second.userinfo(second_tokens["access_token"]).status_code == 200
    text = page_text(client.get("/account?lang=en"))

    assert "This device" in text and "Sign out this device" not in text  # one session: this one
    assert "Nemzeti Adó- és Vámhivatal" in text and "Egészségügyi Szolgáltatási Tér" in text
    assert "Name and date of birth" in text and "Email address" in text
    history = text[text.rindex("Access history"):]
    assert history.count("Nemzeti Adó- és Vámhivatal") == 1
    assert history.count("Egészségügyi Szolgáltatási Tér") == 2  # at sign-in, and asked for afterwards
    assert "at sign-in" in history and "asked for afterwards" in history


def test_releases_count_up_within_a_day_and_never_store_values(client, rt, citizen, db):
    _, second, _, tokens = agencies_signed_in(client, rt, citizen)
    for _ in range(3):
        second.userinfo(tokens["access_token"])
    rows = db.session.scalars(select(ClaimRelease).where(ClaimRelease.channel == "userinfo")).all()
    assert len(rows) == 1 and rows[0].count == 3
    assert rows[0].claims == "email email_verified"
    assert citizen.account.email not in " ".join(r.claims for r in db.session.scalars(select(ClaimRelease)))


def test_signing_out_another_device_ends_only_that_session(client, rt, citizen, db):
    other = client.application.test_client()
    Citizen(other, rt, citizen.account).sign_in()
    citizen.sign_in()
    page = client.get("/account")
    html = page.get_data(as_text=True)
    sids = re.findall(r'data-sid="([^"]+)"', html)
    assert len(sids) == 2
    mine = db.session.scalar(select(SsoSession.sid).order_by(SsoSession.id.desc()))
    theirs = next(s for s in sids if s != mine)
    response = client.post("/account/sessions/end", data={"csrf_token": csrf_of(html), "sid": theirs})
    assert response.status_code == 303
    assert other.get("/account").status_code == 303  # that device is signed out
    assert client.get("/account").status_code == 200  # this one is not


def test_a_citizen_cannot_end_someone_elses_session(client, rt, citizen, db):
    stranger = Citizen(client.application.test_client(), rt, make_account(rt))
    stranger.sign_in()
    theirs = db.session.scalar(select(SsoSession.sid).order_by(SsoSession.id.desc()))
    citizen.sign_in()
    html = client.get("/account").get_data(as_text=True)
    client.post("/account/sessions/end", data={"csrf_token": csrf_of(html), "sid": theirs})
    db.session.expire_all()
    assert db.session.scalar(select(SsoSession.ended_at).where(SsoSession.sid == theirs)) is None
    assert stranger.http.get("/account").status_code == 200


def test_sign_out_everywhere_ends_every_session_including_this_one(client, rt, citizen, db):
    other = client.application.test_client()
    Citizen(other, rt, citizen.account).sign_in()
    citizen.sign_in()
    html = client.get("/account").get_data(as_text=True)
    response = client.post("/account/sessions/end", data={"csrf_token": csrf_of(html), "sid": "all"})
    assert response.headers["Location"].endswith("/signed-out")
    assert other.get("/account").status_code == 303
    assert client.get("/account").status_code == 303


def test_the_session_forms_need_the_csrf_token(client, rt, citizen, db):
    citizen.sign_in()
    response = client.post("/account/sessions/end", data={"sid": "all"})
    assert response.status_code == 400
    assert client.get("/account").status_code == 200


def test_withdrawing_consent_revokes_the_agencys_tokens_and_the_next_sign_in_asks_again(client, rt, citizen, db):
    first, _, first_tokens, _ = agencies_signed_in(client, rt, citizen)
    html = client.get("/account").get_data(as_text=True)
    response = client.post("/account/agencies/withdraw", data={"csrf_token": csrf_of(html), "client_id": first.client.client_id})
    assert response.status_code == 303
    # the message names it, with the article Hungarian puts before an institution opening a sentence
    assert "A Nemzeti Adó- és Vámhivatal a továbbiakban nem kapja meg az adatait." in page_text(client.get("/account"))
    assert db.session.scalar(select(Consent).where(Consent.client_pk == first.client.id)) is None
    assert first.userinfo(first_tokens["access_token"]).status_code == 401
    again = first.visit(scope="openid profile")
    assert again.status_code == 200 and b'name="decision"' in again.data


def test_a_code_issued_before_the_withdrawal_is_not_exchanged_after_it(client, rt, citizen, db):
    """Issue 13 (a suspicion, confirmed): withdrawal revoked tokens but not codes not yet exchanged."""
    first, _, _, _ = agencies_signed_in(client, rt, citizen)
    code = first.get_code(scope="openid profile")
    html = client.get("/account").get_data(as_text=True)
    client.post("/account/agencies/withdraw", data={"csrf_token": csrf_of(html), "client_id": first.client.client_id})
    response = first.exchange(code)
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_grant"


def test_withdrawing_what_was_never_allowed_is_a_readable_message(client, rt, citizen, db):
    citizen.sign_in()
    html = client.get("/account?lang=en").get_data(as_text=True)
    response = client.post("/account/agencies/withdraw", data={"csrf_token": csrf_of(html), "client_id": "nope"}, follow_redirects=True)
    assert response.status_code == 200
    assert "There is nothing to withdraw" in page_text(response)


def test_the_page_is_hungarian_first_and_english_on_request(client, rt, citizen):
    citizen.sign_in()
    hu = page_text(client.get("/account"))
    assert "Hozzáférési napló" in hu or "Hozzáférések" in hu
    en = page_text(client.get("/account?lang=en"))
    assert "Access history" in en and "Where you are signed in" in en
