"""Screenshots of the main pages, in Hungarian and English, at desktop and phone sizes.

Run through ``scripts/screenshots``. The provider is served in this process with
demo-like data, as the browser tests do (a temporary SQLite database, generated
secrets and signing keys, the demo citizen and agencies of ``idp demo``, and a
newcomer who still has the initial password); nothing outside the temporary
folder is touched except ``screenshots/<lang>/<page>-<size>.png``. Debian's
Chromium draws the pages (never ``playwright install``).
"""

from __future__ import annotations

import argparse
import logging
import secrets
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402

from idp.app import MIGRATIONS, check_keys, create_app  # noqa: E402
from idp.settings import build_settings  # noqa: E402
from tests.support import browser as bw  # noqa: E402
from tests.support.live import free_port, serving  # noqa: E402
from tests.support.pages import LANGS, PAGES, open_page, seed_site  # noqa: E402

SIZES = {"desktop": (1280, 900), "phone": (390, 844), "narrow": (320, 640)}
DEFAULT_SIZES = ("desktop", "phone")
OUT = ROOT / "screenshots"


def settings_for(folder: Path, port: int):
    return build_settings(
        {
            "server": {"issuer": f"http://127.0.0.1:{port}", "development": True, "secret_key": secrets.token_urlsafe(48)},
            "database": {"url": f"sqlite:///{folder / 'idp.sqlite3'}"},
            "keys": {"dir": str(folder / "keys"), "passphrase": secrets.token_urlsafe(32)},
            "security": {"pairwise_secret": secrets.token_urlsafe(48)},
        }
    ).validate()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--all", action="store_true", help="every page (error states too), not only the main ones")
    parser.add_argument("--size", action="append", choices=sorted(SIZES), help="desktop and phone unless given")
    args = parser.parse_args(argv)
    if reason := bw.skip_reason():
        print(f"cannot take screenshots: {reason}", file=sys.stderr)
        return 1
    pages = [p for p in PAGES if args.all or p.main]
    sizes = args.size or DEFAULT_SIZES

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="idp-screenshots-") as tmp:
        port = free_port()
        app = create_app(settings_for(Path(tmp), port))
        # Quiet: the migrations' progress and the warning about throw-away development keys.
        logging.disable(logging.WARNING)
        with app.app_context():
            upgrade(directory=str(MIGRATIONS))
            check_keys(app)
        logging.disable(logging.NOTSET)
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
        with serving(app, port) as base, app.app_context(), sync_playwright() as p:
            site = seed_site(app.extensions["idp"], base)
            browser = bw.launch(p)
            for lang in LANGS:
                (OUT / lang).mkdir(parents=True, exist_ok=True)
                for size in sizes:
                    width, height = SIZES[size]
                    for page_def in pages:
                        context = browser.new_context(viewport={"width": width, "height": height}, locale="hu-HU")
                        context.set_default_timeout(bw.TIMEOUT_MS)
                        page = open_page(context, site, page_def, lang)
                        path = OUT / lang / f"{page_def.id}-{size}.png"
                        page.screenshot(path=str(path), full_page=True)
                        context.close()
                        print(f"  {path.relative_to(ROOT)}")
            browser.close()
    print(f"Screenshots in {OUT}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
