"""WSGI entry point for production servers: ``gunicorn -c gunicorn.conf.py idp.wsgi:app``.

Settings come from ``IDP_CONFIG`` and the environment. Start-up refuses to run
without signing keys (create them once with ``idp keys rotate``). Logs go out as
``[logging]`` says (``idp.logs``), under any WSGI server.
"""

from idp import logs
from idp.app import check_keys, create_app

app = create_app()
logs.configure(app.extensions["idp"].settings.logging)
check_keys(app)
