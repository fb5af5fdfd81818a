"""Account recovery through the real forms: ask for a link, follow the one mailed, set a password."""

from __future__ import annotations

import re

from idp.web.recovery import deferred_mail

from .flows import Citizen, csrf_of
from .lifecycle import NEW_PASSWORD


def ask(client, username: str, email: str):
    page = client.get("/recover")
    assert page.status_code == 200
    response = client.post("/recover", data={"csrf_token": csrf_of(page.get_data(as_text=True)),
                                             "username": username, "email": email})
    deferred_mail_of(client).wait()  # the mail leaves from a worker thread
    return response


def deferred_mail_of(client):
    with client.application.app_context():
        return deferred_mail()


def link_in(citizen: Citizen) -> str:
    for mail in citizen.mail():
        match = re.search(r"(/recover/link\?token=[A-Za-z0-9_-]{40,})", mail.text)
        if match:
            return match.group(1)
    raise AssertionError("no recovery link in the outbox")


def follow_link(client, citizen: Citizen):
    opened = client.get(link_in(citizen))
    assert opened.status_code == 303 and opened.headers["Location"].endswith("/recover/password")
    return client.get("/recover/password")


def set_password(client, password: str = NEW_PASSWORD):
    page = client.get("/recover/password")
    return client.post("/recover/password", data={"csrf_token": csrf_of(page.get_data(as_text=True)),
                                                  "new_password": password, "confirm_password": password})
