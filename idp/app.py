"""The application factory: settings in, a configured Flask app out."""

from __future__ import annotations

import logging
import os
from datetime import timedelta
from pathlib import Path

from flask import Flask, g
from werkzeug.middleware.proxy_fix import ProxyFix

from idp.accounts.assurance import AssurancePolicy
from idp.accounts.policy import ValidityPolicy
from idp import connections
from idp.clock import SystemClock
from idp import models  # noqa: F401  (registers every table)
from idp.extensions import babel, csrf, db, migrate
from idp.logs import quiet_libraries
from idp.mail import build_mailer
from idp.runtime import Runtime
from idp.security.keys import KeyRing, KeyRingError
from idp.security.passwords import Passwords
from idp.security.sealing import CITIZEN_TOTP_LABEL, EMAIL_CODE_LABEL, REGISTRATION_DOCUMENT_LABEL, Sealer, derive_key
from idp.security.secrets import KeyedDigest
from idp.sessions.service import Timeouts
from idp.sessions.throttle import ClientAuthThrottle, ClientThrottlePolicy, LoginThrottle, ThrottlePolicy
from idp.settings import Settings, argon2_below_floor, load_settings, resolve_path
from idp.sharedstate import build_shared_state

ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = Path(__file__).resolve().parent / "migrations"

log = logging.getLogger("idp")


def _database_uri(url: str) -> str:
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////") and url != "sqlite:///:memory:":
        path = resolve_path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{path}"
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def build_runtime(settings: Settings, clock=None, passwords: Passwords | None = None) -> Runtime:
    s = settings
    keyring = KeyRing(
        resolve_path(s.keys.dir), s.keys.passphrase, s.keys.algorithms, s.keys.retain_previous_seconds
    )
    shared = build_shared_state(s.shared_state.redis_url)
    clock = clock or SystemClock()
    return Runtime(
        settings=s,
        clock=clock,
        keyring=keyring,
        passwords=passwords
        or Passwords(s.security.argon2_time_cost, s.security.argon2_memory_kib, s.security.argon2_parallelism),
        shared=shared,
        policy=ValidityPolicy.from_days(
            s.policy.account_validity_days,
            s.policy.password_max_age_days,
            s.policy.password_renewal_grace_days,
            s.policy.activation_days,
            s.policy.reminder_days,
            activation_attempts=s.policy.activation_code_attempts,
            pending_registration_days=s.policy.pending_registration_days,
            registration_document_days=s.policy.registration_document_days,
        ),
        throttle=LoginThrottle(
            shared,
            ThrottlePolicy(
                account_delay_after=s.security.login_account_failures_before_delay,
                account_block_after=s.security.login_account_failures_before_block,
                address_block_after=s.security.login_address_failures_before_block,
                window_seconds=s.security.login_window_seconds,
                account_daily_cap=s.security.login_account_failures_per_day,
            ),
        ),
        client_throttle=ClientAuthThrottle(
            shared,
            ClientThrottlePolicy(
                client_block_after=s.security.client_auth_failures_before_block,
                address_block_after=s.security.client_auth_address_failures_before_block,
                window_seconds=s.security.login_window_seconds,
            ),
        ),
        timeouts=Timeouts(
            idle=timedelta(seconds=s.session.idle_seconds),
            absolute=timedelta(seconds=s.session.absolute_seconds),
        ),
        sealer=Sealer(s.server.secret_key),
        citizen_sealer=Sealer(s.server.secret_key, CITIZEN_TOTP_LABEL),
        email_code_digest=KeyedDigest(derive_key(s.server.secret_key, EMAIL_CODE_LABEL)),
        registration_seal=KeyedDigest(derive_key(s.server.secret_key, REGISTRATION_DOCUMENT_LABEL)),
        assurance=AssurancePolicy.of(s.assurance.substantial_methods),
        mailer=build_mailer(s.mail, clock=clock),
    )


def create_app(settings: Settings | None = None, *, clock=None, passwords: Passwords | None = None) -> Flask:
    """Build the provider. Without ``settings``, they are read from ``IDP_CONFIG`` and the environment."""
    if settings is None:
        settings = load_settings(os.environ.get("IDP_CONFIG"))
    else:
        settings.validate()
    quiet_libraries()  # Authlib logs issued tokens at DEBUG, SQLAlchemy statements' parameters, pyHanko signers

    app = Flask("idp", template_folder=str(ROOT / "templates"), static_folder=str(ROOT / "static"))
    app.before_request(_fresh_request_globals)  # first, before any extension's hook
    rt = build_runtime(settings, clock, passwords)
    weak = argon2_below_floor(settings)
    if weak and not settings.server.development:
        log.warning("password hashing below the recommended floor: %s (SECURITY.md, issue 11)", weak)
    https = settings.is_https
    app.config.update(
        SECRET_KEY=settings.server.secret_key,
        SQLALCHEMY_DATABASE_URI=_database_uri(settings.database.url),
        SQLALCHEMY_ENGINE_OPTIONS=_engine_options(settings),
        SESSION_COOKIE_NAME="__Host-idp_form" if https else "idp_form",
        SESSION_COOKIE_SECURE=https,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PREFERRED_URL_SCHEME="https" if https else "http",
        MAX_CONTENT_LENGTH=64 * 1024,
        WTF_CSRF_TIME_LIMIT=3600,
        WTF_CSRF_SSL_STRICT=https,
        BABEL_DEFAULT_LOCALE=settings.server.default_locale,
        BABEL_TRANSLATION_DIRECTORIES=str(Path(__file__).resolve().parent / "translations"),
    )
    app.json.sort_keys = False
    if settings.server.trusted_proxies:
        n = settings.server.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)

    db.init_app(app)
    with app.app_context():
        connections.watch(db.engine)
    migrate.init_app(app, db, directory=str(MIGRATIONS))
    csrf.init_app(app)

    from idp.oidc.backchannel import Dispatcher, delivery_fetcher
    from idp.oidc.server import build_server
    from idp.web import register_web
    from idp.web.i18n import compile_catalogs, select_locale

    compile_catalogs()
    babel.init_app(app, locale_selector=select_locale)
    rt.server = build_server(app, rt)
    rt.logout = Dispatcher(
        app, lambda: db.session, settings.logout.backchannel_in_background, fetcher=delivery_fetcher(settings)
    )
    app.extensions["idp"] = rt
    register_web(app)
    return app


def _fresh_request_globals() -> None:
    """Start every request with an empty ``g``, as under a WSGI server, also when one application
    context outlives several requests (tests, scripts): the sign-in session, the CSRF token and
    the form targets cached there belong to one request only."""
    vars(g._get_current_object()).clear()


def _engine_options(settings: Settings) -> dict:
    # A database error's message names the statement, never its parameters (digests, names, emails):
    # the message reaches the log with the failure.
    if settings.database.url.startswith("sqlite"):
        return {"connect_args": {"timeout": 15}, "hide_parameters": True}
    # No pool_pre_ping: a local check at checkout and pool_recycle instead (idp.connections). A database
    # that does not answer fails a request within seconds (a 503, idp.web.unavailable) rather than
    # holding a worker thread for the kernel's TCP timeout.
    return {
        "pool_size": settings.database.pool_size,
        "pool_recycle": settings.database.pool_recycle_seconds,
        "pool_timeout": 10,
        "connect_args": {"connect_timeout": 5},
        "hide_parameters": True,
    }


def check_keys(app: Flask) -> None:
    """Refuse to start without signing keys, except in development where they are generated (and said so)."""
    rt: Runtime = app.extensions["idp"]
    missing = rt.keyring.missing_algorithms()
    if not missing:
        return
    if not rt.settings.server.development:
        raise KeyRingError(
            f"no signing key for {', '.join(missing)} in {rt.keyring.directory}: run `idp keys rotate` once"
        )
    created = rt.keyring.ensure(rt.now())
    for info in created:
        log.warning("DEVELOPMENT: generated a %s signing key %s in %s", info.alg, info.kid, rt.keyring.directory)
