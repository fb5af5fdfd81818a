"""Driving Debian's Chromium through Playwright, for the browser tests.

Never ``playwright install``: the browser is the system's ``/usr/bin/chromium``,
launched headless with everything that would reach the network switched off.
"""

from __future__ import annotations

import json
import os
import re
from contextlib import contextmanager
from pathlib import Path

CHROMIUM = Path(os.environ.get("IDP_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",  # the tests run as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"
# BROWSER_SCREENSHOTS=all also saves a screenshot at every named step (for looking at the pages).
ALL_STEPS = os.environ.get("BROWSER_SCREENSHOTS", "") == "all"
TIMEOUT_MS = 10_000


def skip_reason() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is absent (install Debian's chromium package; never `playwright install`)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed"
    return None


def launch(playwright):
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")[:120]


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot under screenshots/ and return its path."""
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{_slug(name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def step(page, name: str) -> None:
    """A named step: screenshotted only when BROWSER_SCREENSHOTS=all."""
    if ALL_STEPS:
        screenshot(page, f"step-{name}")


def screenshot_all(context, test_name: str) -> list[Path]:
    """On failure: every open page of the context, so the state at the failure can be seen."""
    saved = []
    for i, page in enumerate(context.pages):
        try:
            saved.append(screenshot(page, f"FAILED-{test_name}-{i}"))
        except Exception:  # a crashed or closed page must not hide the real failure
            pass
    return saved


def interaction_page(provider: str, name: str) -> re.Pattern:
    """The URLs of an agency's interaction page ``name`` (``login``, ``consent``, ``fix``,
    ``second-factor``) on ``provider``."""
    return re.compile(re.escape(provider.rstrip("/")) + r"/interaction/[A-Za-z0-9_-]+/" + re.escape(name) + r"(?:[?#].*)?$")


def matches(url: str, where: str | re.Pattern) -> bool:
    """``where``: a URL prefix, or a pattern the whole URL matches."""
    return bool(where.match(url)) if isinstance(where, re.Pattern) else url.startswith(where)


def at(page, where: str | re.Pattern) -> None:
    """Wait until the page is at ``where`` (``matches``)."""
    page.wait_for_url(lambda url: matches(url, where))


@contextmanager
def watch(page, where: str | re.Pattern):
    """Record the (method, url, status) of every response whose URL ``matches`` ``where``."""
    seen: list[tuple[str, str, int]] = []

    def on_response(response):
        if matches(response.url, where):
            seen.append((response.request.method, response.url, response.status))

    page.on("response", on_response)
    try:
        yield seen
    finally:
        page.remove_listener("response", on_response)


def json_text(page, selector: str) -> dict:
    return json.loads(page.locator(selector).inner_text())


@contextmanager
def fresh_page(browser, request, **context_options):
    """A new context (one citizen's browser: its own cookies) and a page in it, for a test's
    fixture; when the test failed, every page of the context is screenshotted."""
    context = browser.new_context(**context_options)
    context.set_default_timeout(TIMEOUT_MS)
    failed_before = request.session.testsfailed
    try:
        yield context.new_page()
    finally:
        if request.session.testsfailed > failed_before:
            for path in screenshot_all(context, request.node.name):
                print(f"screenshot: {path}")
        context.close()


def words(app, lang: str, msgid: str, **values) -> str:
    """What a page of ``app`` says for ``msgid`` in ``lang``, from the catalogue (an agency named as
    a sentence's subject, as the pages do), so a test follows a rewording but not a lost translation."""
    from flask_babel import force_locale, gettext

    from idp.web.i18n import agency_subject

    with app.test_request_context(), force_locale(lang):
        if "agency" in values:
            values["agency"] = agency_subject(values["agency"])
        return str(gettext(msgid, **values))
