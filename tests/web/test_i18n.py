"""Hungarian first, English second: the Hungarian catalogue covers every message in the
current sources, and the language is chosen by the switch, the agency's ``ui_locales``,
the browser, and otherwise Hungarian."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from ..support.factories import make_account, make_client
from ..support.protocol import login_location
from ..support.flows import Agency, Citizen

ROOT = Path(__file__).resolve().parents[2]
BABEL_CFG = ROOT / "babel.cfg"
HU_PO = ROOT / "idp" / "translations" / "hu" / "LC_MESSAGES" / "messages.po"
PLACEHOLDER = re.compile(r"%\(([A-Za-z_][A-Za-z0-9_]*)\)[#0 +-]*\d*(?:\.\d+)?[sdifr]")


# The catalogue, against the sources as they are now (not a possibly stale messages.pot)


def extracted_messages() -> dict[str, str]:
    """msgid -> first place it is used, extracted with the project's babel.cfg."""
    with BABEL_CFG.open(encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh, str(BABEL_CFG))
    found: dict[str, str] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(str(ROOT), method_map, options_map):
        for msgid in message if isinstance(message, tuple) else (message,):
            if msgid:
                found.setdefault(msgid, f"{filename}:{lineno}")
    return found


@pytest.fixture(scope="module")
def sources() -> dict[str, str]:
    return extracted_messages()


@pytest.fixture(scope="module")
def hungarian():
    with HU_PO.open("rb") as fh:
        return read_po(fh, locale="hu", abort_invalid=True)


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text or ""))


def strings_of(entry) -> tuple[str, ...]:
    return entry.string if isinstance(entry.string, tuple) else (entry.string,)


def test_extraction_finds_messages_in_python_code_and_in_templates(sources):
    files = {where.rsplit(":", 1)[0] for where in sources.values()}
    assert any(f.startswith("templates/") for f in files), files
    assert any(f.startswith("idp/") and f.endswith(".py") for f in files), files
    # lazy_gettext (as _l) in Python and _() in templates are both keywords.
    assert "The username or password is not correct." in sources
    assert "Allow access to your data?" in sources


def test_every_message_in_the_sources_has_a_hungarian_translation(sources, hungarian):
    missing = [f"{where}: {msgid!r}" for msgid, where in sources.items()
               if hungarian.get(msgid) is None or not all(s and s.strip() for s in strings_of(hungarian.get(msgid)))]
    assert not missing, "untranslated (run scripts/i18n update, then translate):\n" + "\n".join(missing)


def test_no_hungarian_translation_is_fuzzy(sources, hungarian):
    fuzzy = [f"{where}: {msgid!r}" for msgid, where in sources.items()
             if hungarian.get(msgid) is not None and hungarian.get(msgid).fuzzy]
    assert not fuzzy, "fuzzy translations:\n" + "\n".join(fuzzy)


def test_hungarian_translations_keep_exactly_the_placeholders_of_the_english(sources, hungarian):
    wrong = []
    for msgid, where in sources.items():
        entry = hungarian.get(msgid)
        if entry is None:
            continue
        for text in strings_of(entry):
            if text and placeholders(text) != placeholders(msgid):
                wrong.append(f"{where}: {msgid!r} -> {text!r}")
    assert not wrong, "placeholders differ:\n" + "\n".join(wrong)


def test_hungarian_translations_survive_percent_formatting(hungarian):
    # Templates use newstyle gettext and flash messages are formatted with "%": a bare "%"
    # in a translation would turn a page into an error.
    for entry in hungarian:
        if not entry.id:
            continue
        names = {name: "x" for name in placeholders(entry.id if isinstance(entry.id, str) else entry.id[0])}
        for text in strings_of(entry):
            if text:
                text % names  # raises on a bare "%"


def test_product_terms_stay_in_the_hungarian_text(sources, hungarian):
    for msgid in sources:
        entry = hungarian.get(msgid)
        if entry is None or not entry.string:
            continue
        for term in ("Ügyfélkapu+", "Ügyfélkapu", "kormányablak", "okmányiroda"):
            if term in msgid:
                assert term in entry.string, f"{msgid!r} -> {entry.string!r} lost {term!r}"


# Which language a citizen sees


def html_lang(html: str) -> str | None:
    match = re.search(r'<html lang="([^"]+)"', html)
    return match.group(1) if match else None


def assert_hungarian(response) -> None:
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html[:500]
    assert html_lang(html) == "hu"
    assert "Bejelentkezés" in html
    assert "Felhasználónév" in html and "Jelszó" in html
    assert "Sign in" not in html and "Username" not in html


def assert_english(response) -> None:
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html[:500]
    assert html_lang(html) == "en"
    assert "Sign in" in html
    assert "Username" in html and "Password" in html
    assert "Bejelentkezés" not in html and "Felhasználónév" not in html


def lang_cookie(response) -> str | None:
    for header in response.headers.getlist("Set-Cookie"):
        if header.startswith("lang="):
            return header.split(";", 1)[0].split("=", 1)[1]
    return None


def test_sign_in_page_is_hungarian_by_default(client):
    assert_hungarian(client.get("/login"))


@pytest.mark.parametrize("accept", ["en", "en-GB,en;q=0.9", "de-DE,de;q=0.9,en;q=0.5"])
def test_browser_preferring_english_gets_the_english_sign_in_page(client, accept):
    assert_english(client.get("/login", headers={"Accept-Language": accept}))


@pytest.mark.parametrize("accept", ["hu-HU,hu;q=0.9,en;q=0.8", "de-DE,fr;q=0.5"])
def test_browser_preferring_hungarian_or_an_unsupported_language_gets_hungarian(client, accept):
    assert_hungarian(client.get("/login", headers={"Accept-Language": accept}))


def test_language_switch_to_english_is_remembered_by_a_cookie(client):
    switched = client.get("/login?lang=en")
    assert_english(switched)
    assert lang_cookie(switched) == "en"

    assert_english(client.get("/login"))


def test_remembered_language_beats_the_browser_preference_and_can_be_switched_back(client):
    client.get("/login?lang=en")
    assert_english(client.get("/login", headers={"Accept-Language": "hu"}))

    back = client.get("/login?lang=hu", headers={"Accept-Language": "en"})
    assert_hungarian(back)
    assert lang_cookie(back) == "hu"
    assert_hungarian(client.get("/login", headers={"Accept-Language": "en"}))


def test_unknown_language_in_the_switch_is_ignored(client):
    response = client.get("/login?lang=de")
    assert_hungarian(response)
    assert lang_cookie(response) is None


def test_page_offers_the_other_language_by_its_own_name(client):
    hu = client.get("/login").get_data(as_text=True)
    assert re.search(r'<a href="[^"]*lang=en[^"]*" lang="en" hreflang="en">English</a>', hu)
    en = client.get("/login?lang=en").get_data(as_text=True)
    assert re.search(r'<a href="[^"]*lang=hu[^"]*" lang="hu" hreflang="hu">Magyar</a>', en)


def authorize_and_follow(client, rt, **overrides):
    oidc_client, secret = make_client(rt)
    agency = Agency(client, oidc_client, secret)
    response = client.get("/authorize?" + urlencode(agency.authorize_params(**overrides)))
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:500]
    location = urlsplit(login_location(response))
    return client.get(location.path), location


@pytest.mark.parametrize("ui_locales", ["en", "en-GB", "de en"])
def test_agency_asking_for_english_with_ui_locales_leads_to_the_english_sign_in_page(client, rt, ui_locales):
    page, _location = authorize_and_follow(client, rt, ui_locales=ui_locales)
    assert_english(page)


def test_agency_request_without_ui_locales_leads_to_the_hungarian_sign_in_page(client, rt):
    page, _location = authorize_and_follow(client, rt)
    assert_hungarian(page)


def test_citizen_switch_beats_the_agency_ui_locales(client, rt):
    client.get("/login?lang=hu")
    page, _location = authorize_and_follow(client, rt, ui_locales="en")
    assert_hungarian(page)


def test_language_switch_on_the_sign_in_page_keeps_the_agency_request(client, rt):
    page, location = authorize_and_follow(client, rt)
    html = page.get_data(as_text=True)
    link = re.search(r'<a href="([^"]*)" lang="en"', html)
    assert link, html[:1000]
    href = urlsplit(link.group(1).replace("&amp;", "&"))
    assert href.path == location.path  # the same interaction's sign-in page
    assert parse_qs(href.query)["lang"] == ["en"]
    assert_english(client.get(link.group(1).replace("&amp;", "&")))


# Messages from Python code (lazy_gettext) are translated at the time of the request


def test_failed_sign_in_is_explained_in_hungarian(client, rt):
    citizen = Citizen(client, rt, make_account(rt))
    response = citizen.sign_in(password="wrong-password-0000")
    page = client.get(response.headers["Location"])
    html = page.get_data(as_text=True)
    assert "A felhasználónév vagy a jelszó nem helyes." in html


def test_failed_sign_in_is_explained_in_english_after_switching(client, rt):
    client.get("/login?lang=en")
    citizen = Citizen(client, rt, make_account(rt))
    response = citizen.sign_in(password="wrong-password-0000")
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "The username or password is not correct." in html


def test_error_page_speaks_the_chosen_language(client):
    hu = client.get("/no-such-page")
    assert hu.status_code == 404
    assert "Ez az oldal nem létezik." in hu.get_data(as_text=True)
    en = client.get("/no-such-page", headers={"Accept-Language": "en"})
    assert en.status_code == 404
    assert "This page does not exist." in en.get_data(as_text=True)
