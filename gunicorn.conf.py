"""gunicorn settings for the provider behind a TLS-terminating proxy.

Run: ``IDP_CONFIG=/etc/idp/config.toml gunicorn -c gunicorn.conf.py idp.wsgi:app``.
Any number of instances can serve one PostgreSQL (sessions live in the database;
throttling and replay caches in Redis when ``shared_state.redis_url`` is set).

Logs: gunicorn's own (the error log: start, workers, signals) and the provider's go
through one handler as ``[logging]`` says (``idp.logs``: one JSON object per line by
default). The provider logs one access event per request itself (``idp.access``:
method, endpoint, status, duration, request id, client_id), so gunicorn's own access
log, which knows none of these, stays off.

Metrics: ``PROMETHEUS_MULTIPROC_DIR`` is set here, before any worker imports the
application, so every worker's values land in files there and ``GET /metrics`` sums
them (``idp.metrics``). Set it yourself to choose the folder; it is emptied when
gunicorn starts, and a dead worker's live values are dropped (``child_exit``).
"""

import os
import shutil
import sys
import tempfile

from gunicorn.glogging import Logger

# Before anything imports idp (and so prometheus_client's metrics, which create their files); a
# configuration reload (HUP) reads this file again and must not empty the folder of live workers.
_own_metrics_dir = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _own_metrics_dir:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="idp-metrics-")
if not os.environ.get("IDP_METRICS_DIR_READY"):
    os.environ["IDP_METRICS_DIR_READY"] = "1"
    _folder = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(_folder, exist_ok=True)
    for _name in os.listdir(_folder):  # values of a previous run are not this run's
        if _name.endswith(".db"):
            os.remove(os.path.join(_folder, _name))

from idp import logs  # noqa: E402  (after PROMETHEUS_MULTIPROC_DIR is set)

bind = os.environ.get("IDP_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("IDP_WORKERS", "2"))
worker_class = "gthread"
threads = int(os.environ.get("IDP_THREADS", "4"))
timeout = 30
# SIGTERM: stop accepting, let the requests in flight finish for up to this long, then exit.
graceful_timeout = 30
# The master builds the application (imports, settings, signing keys, the argon2 calibration hash)
# once, before it opens the port, and forks ready workers: the port accepts nothing until the
# application is importable (a broken one never opens it), and a restarted worker answers at once
# instead of hanging its first connections for seconds. The master opens no database connection;
# post_fork drops any pooled one anyway. A new version needs a restart (or USR2), not HUP.
preload_app = True
errorlog = "-"
accesslog = None
forwarded_allow_ips = os.environ.get("IDP_FORWARDED_ALLOW_IPS", "127.0.0.1")


class JsonLogger(Logger):
    """gunicorn's logger, handing its records to the provider's one handler (``idp.logs``)."""

    def setup(self, cfg):
        super().setup(cfg)
        logs.configure(logs.settings_for_process())
        for log in (self.error_log, self.access_log):
            for handler in list(log.handlers):
                if getattr(handler, "_gunicorn", False):
                    log.removeHandler(handler)
            log.propagate = True


logger_class = JsonLogger


def post_fork(server, worker):
    wsgi = sys.modules.get("idp.wsgi")
    if wsgi is None:  # not preloaded: the worker builds its own
        return
    from idp.extensions import db

    with wsgi.app.app_context():
        for engine in db.engines.values():
            engine.dispose(close=False)  # connections are never shared across processes


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _own_metrics_dir:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
