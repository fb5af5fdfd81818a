"""Shared state for several instances: counters and once-only markers, in process or in Redis."""

from __future__ import annotations

import os
import secrets

import pytest

from idp.sharedstate import MemoryState, RedisState


class FakeMonotonic:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


def _redis_or_skip():
    url = os.environ.get("IDP_TEST_REDIS_URL")
    if not url:
        pytest.skip("Redis not configured: set IDP_TEST_REDIS_URL (./dev test does when Redis runs on 127.0.0.1:6379)")
    state = RedisState(url, prefix=f"idp-test-{secrets.token_hex(4)}:")
    try:
        state.count("ping")
    except Exception as exc:  # noqa: BLE001 - any connection problem means: not available
        pytest.skip(f"Redis at {url} is not reachable: {type(exc).__name__}")
    return state


@pytest.fixture(params=["memory", "redis"])
def state(request):
    if request.param == "memory":
        return MemoryState()
    return _redis_or_skip()


def test_counters_count_and_reset(state):
    assert state.hit("k", 60) == 1
    assert state.hit("k", 60) == 2
    assert state.count("k") == 2
    state.reset("k")
    assert state.count("k") == 0


def test_first_use_is_true_once(state):
    assert state.first_use("jti:abc", 60) is True
    assert state.first_use("jti:abc", 60) is False


def test_values_round_trip(state):
    state.put("v", "1.5", 60)
    assert state.get("v") == "1.5"
    assert state.get("absent") is None


def test_memory_entries_expire_with_their_window():
    clock = FakeMonotonic()
    state = MemoryState(monotonic=clock)
    state.hit("k", 10)
    assert state.first_use("once", 10)
    clock.t += 11
    assert state.count("k") == 0
    assert state.first_use("once", 10)


def test_two_instances_share_redis_counts():
    first = _redis_or_skip()
    second = RedisState(os.environ["IDP_TEST_REDIS_URL"], prefix=first._prefix)
    first.hit("shared", 60)
    assert second.hit("shared", 60) == 2
    assert second.first_use("once", 60) and not first.first_use("once", 60)


def test_take_returns_a_value_once(state):
    state.put("sheet", "sealed", 60)
    assert state.take("sheet") == "sealed"
    assert state.take("sheet") is None
    assert state.get("sheet") is None
