"""Small composable fixtures: settings → app → db → client; a movable clock; real keys.

The database is SQLite by default; set ``IDP_TEST_DATABASE_URL`` (for example
``postgresql+psycopg://postgres@127.0.0.1:5432/idp_test``) to run the same
suite on PostgreSQL. The schema is built by the migrations, once per run, and
every table is emptied after each test.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from idp.app import MIGRATIONS, create_app
from idp.clock import FixedClock
from idp.extensions import db as _db
from idp.security.keys import KeyRing
from idp.settings import Settings, build_settings
from idp.storage import Base

PASSPHRASE = "test-passphrase-0123456789"
SECRET = "s" * 48
PAIRWISE = "p" * 48


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = os.environ.get("IDP_TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'idp.sqlite3'}"


@pytest.fixture(scope="session")
def keys_dir(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("keys")
    KeyRing(path, PASSPHRASE, ["RS256", "ES256", "EdDSA"], 86400).ensure(datetime.now(UTC))
    return path


def make_settings(database_url: str, keys_dir: Path, issuer: str = "http://localhost", **sections) -> Settings:
    data = {
        "server": {"issuer": issuer, "development": True, "secret_key": SECRET},
        "database": {"url": database_url},
        "keys": {"dir": str(keys_dir), "passphrase": PASSPHRASE},
        "security": {"pairwise_secret": PAIRWISE, "argon2_time_cost": 1, "argon2_memory_kib": 1024, "argon2_parallelism": 1},
        # Mail never lands in the working tree: beside the run's keys, unless a test names its own outbox.
        "mail": {"outbox_dir": str(Path(keys_dir).parent / "outbox")},
    }
    for name, values in sections.items():
        data.setdefault(name, {}).update(values)
    return build_settings(data).validate()


@pytest.fixture(scope="session")
def _schema(database_url, keys_dir):
    """Build the schema once by running the migrations, as ``idp db upgrade`` does."""
    from flask_migrate import upgrade

    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(text(f'DROP TABLE IF EXISTS "{table.name}"' + (" CASCADE" if engine.dialect.name == "postgresql" else "")))
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        if engine.dialect.name == "postgresql":
            conn.execute(text("DROP FUNCTION IF EXISTS audit_event_append_only() CASCADE"))
    engine.dispose()
    app = create_app(make_settings(database_url, keys_dir))
    with app.app_context():
        upgrade(directory=str(MIGRATIONS))
        _db.engine.dispose()
    yield


@pytest.fixture
def clock() -> FixedClock:
    # Real "now": third-party client libraries validate exp/iat against the wall clock.
    return FixedClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def settings(database_url, keys_dir, tmp_path) -> Settings:
    # Mail goes to the test's own outbox (read it with tests/support/flows.py), never into the tree.
    return make_settings(database_url, keys_dir, mail={"outbox_dir": str(tmp_path / "outbox")})


@pytest.fixture
def app(_schema, settings, clock):
    app = create_app(settings, clock=clock)
    app.config["TESTING"] = True
    with app.app_context():
        yield app
        _db.session.remove()
        _empty_tables()
        _db.engine.dispose()


def _empty_tables() -> None:
    with _db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())


@pytest.fixture
def rt(app):
    return app.extensions["idp"]


@pytest.fixture
def db(app):
    return _db


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def live_host() -> str:
    """The host name of the live provider's issuer (it listens on 127.0.0.1). A test module may
    override it: WebAuthn needs a domain as the relying party ID, and http://localhost is a secure
    context, so the passkey tests use ``localhost``."""
    return "127.0.0.1"


@pytest.fixture
def live_settings() -> dict:
    """Further settings sections of the live provider (a test module may override it)."""
    return {}


@pytest.fixture
def live(_schema, database_url, keys_dir, clock, tmp_path, live_host, live_settings):
    """The provider on a real local port: yields (base_url, app). The issuer is that URL."""
    from .support.live import free_port, serving

    port = free_port()
    settings = make_settings(
        database_url, keys_dir, issuer=f"http://{live_host}:{port}",
        **{"mail": {"outbox_dir": str(tmp_path / "outbox")}, **live_settings},
    )
    app = create_app(settings, clock=clock)
    with serving(app, port):
        with app.app_context():
            yield f"http://{live_host}:{port}", app
            _db.session.remove()
            _empty_tables()
            _db.engine.dispose()


@pytest.fixture
def citizen(client, rt):
    """An active citizen (not signed in yet) and the story helpers of ``tests/support/flows.py``."""
    from .support.factories import make_account
    from .support.flows import Citizen

    return Citizen(client, rt, make_account(rt))


@pytest.fixture
def agency(client, rt):
    """A confidential agency client (client_secret_basic) with the story helpers."""
    from .support.factories import make_client
    from .support.flows import Agency

    c, secret = make_client(rt)
    return Agency(client, c, secret)


@pytest.fixture(scope="module")
def chromium():
    """Debian's Chromium through Playwright, one per test module (tests/support/browser.py)."""
    from playwright.sync_api import sync_playwright

    from .support.browser import launch

    with sync_playwright() as p:
        browser = launch(p)
        yield browser
        browser.close()


@pytest.fixture
def browsers(chromium, request):
    """New browsers on demand (one per person: own cookies, Hungarian unless told), each
    screenshotted when the test failed (tests/support/browser.py::fresh_page)."""
    from contextlib import ExitStack

    from .support.browser import fresh_page

    with ExitStack() as stack:
        yield lambda **options: stack.enter_context(fresh_page(chromium, request, **{"locale": "hu-HU", **options}))


@pytest.fixture
def mail():
    """The mail the lifecycle tier sends, recorded (tests/support/lifecycle.py)."""
    from .support.lifecycle import RecordingNotifier

    return RecordingNotifier()


@pytest.fixture
def ctx(rt, mail):
    """The lifecycle tier's context, its mail recorded in ``mail``."""
    from .support.lifecycle import context

    return context(rt, mail)
