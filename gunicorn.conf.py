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
import tempfile

from gunicorn.glogging import Logger

from idp import logs

bind = os.environ.get("IDP_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("IDP_WORKERS", "2"))
worker_class = "gthread"
threads = int(os.environ.get("IDP_THREADS", "4"))
timeout = 30
# SIGTERM: stop accepting, let the requests in flight finish for up to this long, then exit.
graceful_timeout = 30
# Each worker imports the app (and its signing keys) once after fork.
preload_app = False
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

_own_metrics_dir = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _own_metrics_dir:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="idp-metrics-")


def on_starting(server):
    folder = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(folder, exist_ok=True)
    for name in os.listdir(folder):  # values of a previous run are not this run's
        if name.endswith(".db"):
            os.remove(os.path.join(folder, name))


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _own_metrics_dir:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
