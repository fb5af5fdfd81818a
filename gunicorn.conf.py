"""gunicorn settings for the provider behind a TLS-terminating proxy.

Run: ``IDP_CONFIG=/etc/idp/config.toml gunicorn -c gunicorn.conf.py idp.wsgi:app``.
Any number of instances can serve one PostgreSQL (sessions live in the database;
throttling and replay caches in Redis when ``shared_state.redis_url`` is set).
"""

import os

bind = os.environ.get("IDP_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("IDP_WORKERS", "2"))
worker_class = "gthread"
threads = int(os.environ.get("IDP_THREADS", "4"))
timeout = 30
graceful_timeout = 30
# Each worker imports the app (and its signing keys) once after fork.
preload_app = False
# The access log never records query strings: they can carry id_token_hint or codes.
accesslog = "-"
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'
forwarded_allow_ips = os.environ.get("IDP_FORWARDED_ALLOW_IPS", "127.0.0.1")
