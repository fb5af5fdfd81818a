"""State shared by every instance of the provider: counters and once-only markers.

Used for sign-in throttling, replay caches (client assertion ``jti``) and values
shown once (``take``: the registration sheet's initial password). In
process by default (one instance); Redis when ``shared_state.redis_url`` is
set, so several instances count and remember together.
"""

from __future__ import annotations

import functools
import threading
import time
from typing import Protocol


class SharedStateUnavailable(Exception):
    """The shared store (Redis) did not answer. Callers fail closed: what needs it is refused with
    503 and ``Retry-After`` (SECURITY.md, "Faults"), never allowed unthrottled and never a 500."""


class SharedState(Protocol):
    def hit(self, key: str, window_seconds: int) -> int:
        """Count one event; the count resets ``window_seconds`` after its first event."""

    def count(self, key: str) -> int: ...

    def reset(self, key: str) -> None: ...

    def first_use(self, key: str, ttl_seconds: int) -> bool:
        """True the first time ``key`` is seen within ``ttl_seconds``, False on every repeat."""

    def put(self, key: str, value: str, ttl_seconds: int) -> None: ...

    def get(self, key: str) -> str | None: ...

    def take(self, key: str) -> str | None:
        """The value of ``key``, removed in the same step: of two concurrent takes one gets it."""


class MemoryState:
    def __init__(self, monotonic=time.monotonic):
        self._data: dict[str, tuple[float, object]] = {}
        self._lock = threading.Lock()
        self._now = monotonic

    def _live(self, key: str):
        item = self._data.get(key)
        if item is None:
            return None
        expires, value = item
        if expires <= self._now():
            del self._data[key]
            return None
        return value

    def _sweep(self) -> None:
        if len(self._data) > 10000:
            now = self._now()
            for k in [k for k, (exp, _) in self._data.items() if exp <= now]:
                del self._data[k]

    def hit(self, key: str, window_seconds: int) -> int:
        with self._lock:
            self._sweep()
            value = self._live(key)
            if value is None:
                self._data[key] = (self._now() + window_seconds, 1)
                return 1
            expires, count = self._data[key]
            self._data[key] = (expires, int(count) + 1)
            return int(count) + 1

    def count(self, key: str) -> int:
        with self._lock:
            value = self._live(key)
            return int(value) if value is not None else 0

    def reset(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)

    def first_use(self, key: str, ttl_seconds: int) -> bool:
        with self._lock:
            self._sweep()
            if self._live(key) is not None:
                return False
            self._data[key] = (self._now() + ttl_seconds, "1")
            return True

    def put(self, key: str, value: str, ttl_seconds: int) -> None:
        with self._lock:
            self._data[key] = (self._now() + ttl_seconds, value)

    def get(self, key: str) -> str | None:
        with self._lock:
            value = self._live(key)
            return None if value is None else str(value)

    def take(self, key: str) -> str | None:
        with self._lock:
            value = self._live(key)
            self._data.pop(key, None)
            return None if value is None else str(value)


def _unavailable_on_redis_errors(cls):
    """Every public method of ``cls`` raises ``SharedStateUnavailable`` when Redis cannot be reached."""
    import redis

    def wrap(method):
        @functools.wraps(method)
        def wrapper(*args, **kwargs):
            try:
                return method(*args, **kwargs)
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError,
                    redis.exceptions.ReadOnlyError) as exc:  # down, unreachable, or a replica during failover
                raise SharedStateUnavailable(type(exc).__name__) from None

        return wrapper

    for name, value in list(vars(cls).items()):
        if callable(value) and not name.startswith("_"):
            setattr(cls, name, wrap(value))
    return cls


@_unavailable_on_redis_errors
class RedisState:
    def __init__(self, url: str, prefix: str = "idp:"):
        import redis

        self._redis = redis.Redis.from_url(
            url, socket_timeout=2, socket_connect_timeout=2, retry_on_timeout=False, health_check_interval=30
        )
        self._prefix = prefix

    def ping(self) -> None:
        self._redis.ping()

    def _k(self, key: str) -> str:
        return self._prefix + key

    def hit(self, key: str, window_seconds: int) -> int:
        pipe = self._redis.pipeline()
        pipe.incr(self._k(key))
        pipe.expire(self._k(key), window_seconds, nx=True)
        count, _ = pipe.execute()
        return int(count)

    def count(self, key: str) -> int:
        value = self._redis.get(self._k(key))
        return int(value) if value is not None else 0

    def reset(self, key: str) -> None:
        self._redis.delete(self._k(key))

    def first_use(self, key: str, ttl_seconds: int) -> bool:
        return bool(self._redis.set(self._k(key), "1", nx=True, ex=ttl_seconds))

    def put(self, key: str, value: str, ttl_seconds: int) -> None:
        self._redis.set(self._k(key), value, ex=ttl_seconds)

    def get(self, key: str) -> str | None:
        value = self._redis.get(self._k(key))
        return None if value is None else value.decode("utf-8")

    def take(self, key: str) -> str | None:
        value = self._redis.getdel(self._k(key))
        return None if value is None else value.decode("utf-8")


def build_shared_state(redis_url: str) -> SharedState:
    return RedisState(redis_url) if redis_url else MemoryState()
