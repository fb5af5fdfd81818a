"""Every page, in Hungarian and English, passes axe-core's WCAG 2.1 A and AA rules in Chromium,
and reflows at 320 and 390 CSS pixels without scrolling sideways.

A serious or critical violation fails the test, naming the rule, its impact and
the elements (pages by id in ``tests/support/pages.py``). axe-core comes from the ``axe-playwright-python`` package (its
bundled ``axe.min.js``: nothing is fetched at run time). It is injected with
Playwright's ``page.evaluate``, which runs through the DevTools protocol and is
not subject to the page's Content-Security-Policy, so the pages are checked
exactly as served, under their strict CSP, rather than in a context with
``bypass_csp=True`` that would change what a citizen's browser does.
"""

from __future__ import annotations

import pytest

from idp.accounts.password_policy import MIN_LENGTH
from idp.app import create_app
from idp.extensions import db

from ..conftest import _empty_tables, make_settings
from ..support import browser as bw
from ..support.live import free_port, serving
from ..support.pages import LANGS, PAGE_IDS, PAGES, open_page, seed_site


def _axe_skip_reason() -> str | None:
    try:
        import axe_playwright_python  # noqa: F401
    except ImportError:
        return "axe-core is not installed (pip install axe-playwright-python, in the test extra)"
    return None


SKIP = bw.skip_reason() or _axe_skip_reason()
pytestmark = [pytest.mark.browser, pytest.mark.skipif(SKIP is not None, reason=SKIP or "")]

#: WCAG 2.0 and 2.1, levels A and AA.
AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    "resultTypes": ["violations"],
}
FAILING = ("serious", "critical")
#: WCAG 1.4.10's 320 CSS pixels, and a common phone's 390 (issue 12: /account was 406 px wide there).
REFLOW_WIDTHS = (320, 390)


@pytest.fixture(scope="module")
def axe_script() -> str:
    from axe_playwright_python.base import AXE_SCRIPT

    return AXE_SCRIPT


@pytest.fixture(scope="module")
def site(_schema, database_url, keys_dir):
    """One provider for the module, seeded once: no page changes what another shows (consent is
    never given, the failed password change changes nothing)."""
    port = free_port()
    app = create_app(make_settings(database_url, keys_dir, issuer=f"http://127.0.0.1:{port}"))
    with serving(app, port) as base, app.app_context():
        try:
            yield seed_site(app.extensions["idp"], base)
        finally:
            db.session.remove()
            _empty_tables()
            db.engine.dispose()


def axe_violations(page, axe_script: str) -> list[dict]:
    page.evaluate(axe_script)
    return page.evaluate("options => axe.run(document, options).then(r => r.violations)", AXE_OPTIONS)


def describe(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        targets = "; ".join(" ".join(node["target"]) for node in v["nodes"])
        lines.append(f"{v['id']} [{v['impact']}] {v['help']}: {targets}")
    return "\n".join(lines)


#: The text that reaches past the right edge, to name in a failure.
TOO_WIDE = """() => { const edge = document.documentElement.clientWidth, out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const range = document.createRange(); range.selectNodeContents(n);
    if (range.getBoundingClientRect().right > edge) { out.push(n.textContent.trim().slice(0, 80)); } }
  return out; }"""


def overflow_at(page, width: int) -> int:
    """How far the page scrolls sideways at ``width`` CSS pixels (WCAG 1.4.10 Reflow: nothing)."""
    page.set_viewport_size({"width": width, "height": 640})
    return page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("page_id", PAGE_IDS)
def test_page_has_no_serious_violations_and_reflows_at_320_and_390px(chromium, site, axe_script, page_id, lang):
    page_def = next(p for p in PAGES if p.id == page_id)
    context = chromium.new_context(locale="hu-HU")
    context.set_default_timeout(bw.TIMEOUT_MS)
    try:
        page = open_page(context, site, page_def, lang)
        serious = [v for v in axe_violations(page, axe_script) if v["impact"] in FAILING]
        if serious:
            print(f"screenshot: {bw.screenshot(page, f'FAILED-axe-{page_id}-{lang}')}")
        assert not serious, f"{page_id} ({lang}):\n{describe(serious)}"
        for width in REFLOW_WIDTHS:
            assert overflow_at(page, width) == 0, (
                f"{page_id} ({lang}) scrolls sideways at {width} px: {page.evaluate(TOO_WIDE)}")
    finally:
        context.close()


def test_password_errors_are_tied_to_their_field(chromium, site):
    """The message is the input's accessible description, the input is invalid, the summary links to it."""
    context = chromium.new_context(locale="hu-HU")
    try:
        page = open_page(context, site, next(p for p in PAGES if p.id == "password-error"), "en")
        new = page.locator("#new_password")
        assert new.get_attribute("aria-invalid") == "true"
        described = [page.locator(f"#{i}").inner_text() for i in new.get_attribute("aria-describedby").split()]
        assert str(MIN_LENGTH) in described[0] and page.locator("#new_password-error").is_visible(), described
        assert page.locator("#current_password").get_attribute("aria-invalid") is None
        assert page.locator(".flash-error a").get_attribute("href") == "#new_password"
    finally:
        context.close()
