"""HTTP: blueprints and forms only. Views parse, call one service verb, render or redirect."""

from __future__ import annotations

from flask import Flask


def register_web(app: Flask) -> None:
    from . import (
        account, auth, client_registration, docs, errors, formatting, health, i18n, interaction, malformed, monitoring,
        oauth, observe, office, registration, security, session,
    )
    from . import second_factor  # noqa: F401  (its routes join the account blueprint)
    from . import passkey_settings  # noqa: F401  (its routes join the account blueprint)
    from . import recovery  # noqa: F401  (its routes join the auth blueprint)

    malformed.init_app(app)
    security.init_app(app)
    i18n.init_app(app)
    formatting.init_app(app)
    session.init_app(app)
    errors.init_app(app)
    app.register_blueprint(oauth.bp)
    app.register_blueprint(client_registration.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(interaction.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(registration.bp)
    app.register_blueprint(office.bp)
    app.register_blueprint(docs.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(monitoring.bp)
    observe.init_app(app)  # last: it wraps every other middleware
