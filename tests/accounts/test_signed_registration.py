"""The registration document a citizen signs electronically carries the provider's seal
(idp/accounts/signed_registration.py): an HMAC over everything above it, under a key
derived from server.secret_key for this purpose, so that no field, created_at included,
can change between issue and upload. Pure functions: no database, no signature."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from idp.accounts import signed_registration
from idp.accounts.errors import AccountError
from idp.security.sealing import REGISTRATION_DOCUMENT_LABEL, derive_key
from idp.security.secrets import KeyedDigest

from ..support.lifecycle import identity_card, registration_data

SECRET = "a-server-secret-key-of-at-least-32-characters"
ISSUED = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def seal_of(secret: str = SECRET) -> KeyedDigest:
    return KeyedDigest(derive_key(secret, REGISTRATION_DOCUMENT_LABEL))


@pytest.fixture
def issued():
    registration = registration_data(family_name="Kovács", given_name="János")
    document = identity_card(date(2026, 3, 2))
    data = signed_registration.render(registration, document, "2026-1", ISSUED, seal_of())
    return data, registration, document


def refusal(data: bytes, seal: KeyedDigest | None = None) -> str:
    with pytest.raises(AccountError) as refused:
        signed_registration.open_sealed(data, seal or seal_of())
    return refused.value.reason


def test_a_sealed_document_reads_back_what_was_issued(issued):
    data, registration, document = issued
    opened = signed_registration.open_sealed(data, seal_of())
    assert (opened.registration, opened.document) == (registration, document)
    assert (opened.statement_version, opened.created_at) == ("2026-1", ISSUED)
    assert data.decode().splitlines()[-1].startswith("seal: ")


@pytest.mark.parametrize("key", signed_registration.KEYS)
def test_any_field_edited_after_issue_is_refused(issued, key):
    data, *_ = issued
    lines = data.decode().split("\n")
    at = next(i for i, line in enumerate(lines) if line.startswith(f"{key}: "))
    lines[at] = lines[at] + "X"
    assert refusal("\n".join(lines).encode()) == "registration_document_modified"


def test_a_backdated_created_at_is_refused(issued):
    data, *_ = issued
    backdated = data.replace(ISSUED.isoformat().encode(), b"2016-03-02T09:30:00+00:00")
    assert refusal(backdated) == "registration_document_modified"


@pytest.mark.parametrize("edit", [
    pytest.param(lambda t: t.replace("Ügyfélkapu registration", "Ugyfelkapu registration"), id="header"),
    pytest.param(lambda t: t.replace("\n\nformat:", "\n\nnote: hello\nformat:"), id="line-added"),
    pytest.param(lambda t: t.replace("Aláírásommal", "Aláírásunkkal"), id="statement"),
])
def test_any_other_edit_above_the_seal_is_refused(issued, edit):
    data, *_ = issued
    assert refusal(edit(data.decode()).encode()) == "registration_document_modified"


def test_a_document_sealed_under_another_secret_is_refused(issued):
    """Another deployment, or server.secret_key rotated since: the citizen downloads a new one."""
    data, *_ = issued
    assert refusal(data, seal_of("another-server-secret-key-of-32-characters")) == "registration_document_modified"


def test_a_seal_key_is_for_registration_documents_alone(issued):
    data, *_ = issued
    other_purpose = KeyedDigest(derive_key(SECRET, "idp/email-code-digest/v1"))
    assert refusal(data, other_purpose) == "registration_document_modified"


@pytest.mark.parametrize("edit", [
    pytest.param(lambda t: t[: t.rindex("seal: ")], id="seal-removed"),
    pytest.param(lambda t: t + "extra: line\n", id="line-after-the-seal"),
])
def test_a_document_without_its_seal_last_is_no_registration_document(issued, edit):
    data, *_ = issued
    assert refusal(edit(data.decode()).encode()) == "registration_document_invalid"


def test_a_seal_line_of_garbage_is_refused(issued):
    data, *_ = issued
    text = data.decode()
    assert refusal((text[: text.rindex("seal: ")] + "seal: 00\n").encode()) == "registration_document_modified"


@pytest.mark.parametrize("form", ["crlf", "no-final-newline"])
def test_line_ends_a_text_editor_changed_do_not_break_the_seal(issued, form):
    data, registration, _ = issued
    changed = data.replace(b"\n", b"\r\n") if form == "crlf" else data.rstrip(b"\n")
    assert signed_registration.open_sealed(changed, seal_of()).registration == registration


@pytest.mark.parametrize("garbage", [b"", b"\xff\xfe not utf-8", b"seal: 00", b"x" * (20 * 1024)])
def test_garbage_is_no_registration_document(garbage):
    assert refusal(garbage) == "registration_document_invalid"
