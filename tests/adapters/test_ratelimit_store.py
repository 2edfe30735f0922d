from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator

import pytest

from starling.adapters.ratelimit_store import LocalCounterStore, RedisCounterStore, window_bounds

REDIS_URL = os.environ.get("STARLING_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def redis_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture
async def redis_store() -> AsyncIterator[RedisCounterStore]:
    if not redis_reachable():
        if os.environ.get("CI") == "true":
            pytest.fail("Redis is not reachable on 127.0.0.1:6379 and CI=true")
        pytest.skip("Redis is not reachable on 127.0.0.1:6379")
    store = RedisCounterStore(REDIS_URL)
    yield store
    await store.aclose()


def test_windows_are_aligned_on_the_epoch() -> None:
    assert window_bounds(1000.0, 300) == (3, 1200.0)
    assert window_bounds(1199.9, 300) == (3, 1200.0)
    assert window_bounds(1200.0, 300) == (4, 1500.0)


async def test_local_counts_per_key_and_window() -> None:
    clock = FakeClock(1000.0)
    store = LocalCounterStore(clock=clock)
    assert (await store.hit("a", 300)).count == 1
    assert (await store.hit("a", 300)).count == 2
    assert (await store.hit("b", 300)).count == 1
    clock.now = 1200.0  # the next window
    window = await store.hit("a", 300)
    assert window.count == 1
    assert window.reset_at == 1500.0


async def test_local_memory_is_bounded() -> None:
    clock = FakeClock(1000.0)
    store = LocalCounterStore(max_keys=100, clock=clock)
    for i in range(1000):
        await store.hit(f"k{i}", 300)
    assert len(store) <= 100
    # Expired windows are dropped first, before any live one.
    clock.now = 5000.0
    await store.hit("fresh", 300)
    await store.hit("fresh2", 300)
    assert len(store) <= 100


async def test_redis_counts_are_shared_between_processes(redis_store: RedisCounterStore) -> None:
    other = RedisCounterStore(REDIS_URL)
    key = f"test:{uuid.uuid4().hex}"
    try:
        assert (await redis_store.hit(key, 60)).count == 1
        assert (await other.hit(key, 60)).count == 2
        window = await redis_store.hit(key, 60)
        assert window.count == 3
        assert redis_store.failures == 0 and other.failures == 0
    finally:
        await other.aclose()


async def test_redis_keys_expire_with_their_window(redis_store: RedisCounterStore) -> None:
    from redis.asyncio import Redis

    key = f"test:{uuid.uuid4().hex}"
    await redis_store.hit(key, 60)
    client = Redis.from_url(REDIS_URL)
    try:
        keys = await client.keys(f"{RedisCounterStore.PREFIX}{key}:*")
        assert len(keys) == 1
        ttl = await client.ttl(keys[0])
        assert 0 < ttl <= 61
    finally:
        await client.aclose()


async def test_redis_down_falls_back_to_local_counting() -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    store = RedisCounterStore(f"redis://127.0.0.1:{port}/0", timeout=0.2)
    try:
        first = await store.hit("k", 60)
        second = await store.hit("k", 60)
    finally:
        await store.aclose()
    assert (first.count, second.count) == (1, 2)
    # One failure, then Redis is left alone for a while instead of being tried on every request.
    assert store.failures == 1
    assert store.available is False
