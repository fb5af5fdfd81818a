"""WSGI entry point for production servers: ``gunicorn -c gunicorn.conf.py idp.wsgi:app``.

Settings come from ``IDP_CONFIG`` and the environment. Start-up refuses to run
without signing keys (create them once with ``idp keys rotate``).
"""

from idp.app import check_keys, create_app

app = create_app()
check_keys(app)
