"""gunicorn settings for the benchmark; ``bench/run`` passes bind, workers and worker class on the command line."""

import os

wsgi_app = "wsgi_app:application"
accesslog = None
errorlog = os.environ.get("BENCH_ERROR_LOG", "-")
loglevel = "warning"
graceful_timeout = 10
timeout = 60


def worker_exit(server, worker):
    # Runs in the worker on shutdown: write its SQL statement counts for bench/run to read.
    try:
        import wsgi_app as module  # already imported by the worker

        module.dump_stats()
    except Exception as exc:  # never let the benchmark's bookkeeping break a shutdown
        server.log.warning("bench: could not dump SQL stats: %s", exc)

