"""Mail that must not make the answer wait: sent from a worker thread after the answer is decided.

Account recovery answers every request alike (NIST SP 800-63B §6.1.2.3; ASVS 5.0 V6.3.8): the
time a mail server takes must not tell whether an account matched. The request's work is done in
the request; the send (already composed from plain values, no database) goes here. A send that
fails is logged by the lifecycle's ``send``; the citizen simply asks again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

log = logging.getLogger("idp.mail")


class Deferred:
    def __init__(self, workers: int = 1):
        self._workers = workers
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mail")

    def __call__(self, action: Callable[[], object]) -> None:
        self._pool.submit(self._run, action)

    @staticmethod
    def _run(action: Callable[[], object]) -> None:
        try:
            action()
        except Exception:  # a background thread has no caller to tell
            log.exception("deferred mail failed")

    def wait(self) -> None:
        """Block until every send so far has finished (shutdown, tests)."""
        self._pool.shutdown(wait=True)
        self._pool = ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="mail")
