"""Counters for rate limits: fixed windows, in this process or shared through Redis.

A window is ``period`` seconds long and aligned on the epoch (as Mastodon's limiter does), so every
process and every host agrees when it resets. :meth:`CounterStore.hit` adds one request to a key's
current window and says how many the window holds now.

With several worker processes and no Redis, each process counts alone: the limit a client really gets
is the configured one times the number of workers. The Redis store shares counters, and falls back to
counting locally whenever Redis fails, so a Redis outage never fails a request.
"""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from starling import metrics

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger("starling.ratelimit")

Clock = Callable[[], float]


@dataclass(frozen=True)
class Window:
    count: int
    reset_at: float  # epoch seconds when the window ends


def window_bounds(now: float, period: int) -> tuple[int, float]:
    """The window's number and the moment it ends."""
    index = math.floor(now / period)
    return index, float((index + 1) * period)


class CounterStore(Protocol):
    async def hit(self, key: str, period: int) -> Window: ...

    async def aclose(self) -> None: ...


class LocalCounterStore:
    """In-process fixed windows; at most ``max_keys`` live counters (expired ones go first, then the oldest)."""

    def __init__(self, *, max_keys: int = 100_000, clock: Clock = time.time) -> None:
        self.max_keys = max_keys
        self.clock = clock
        self._counts: OrderedDict[str, tuple[int, float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._counts)

    def hit_now(self, key: str, period: int) -> Window:
        now = self.clock()
        index, reset_at = window_bounds(now, period)
        slot = f"{key}:{index}"
        count, _ = self._counts.get(slot, (0, reset_at))
        count += 1
        self._counts[slot] = (count, reset_at)
        if len(self._counts) > self.max_keys:
            self._evict(now)
        return Window(count, reset_at)

    async def hit(self, key: str, period: int) -> Window:
        return self.hit_now(key, period)

    def _evict(self, now: float) -> None:
        for slot in [s for s, (_, reset_at) in self._counts.items() if reset_at <= now]:
            del self._counts[slot]
        while len(self._counts) > self.max_keys:
            self._counts.popitem(last=False)

    async def aclose(self) -> None:
        self._counts.clear()


class RedisCounterStore:
    """Shared windows in Redis (``INCR`` and ``EXPIRE`` in one transaction).

    After a failure Redis is left alone for ``retry_after`` seconds and the local store counts instead.
    """

    PREFIX = "starling:rl:"

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 0.25,
        retry_after: float = 5.0,
        clock: Clock = time.time,
        local: LocalCounterStore | None = None,
    ) -> None:
        self.url = url
        self.timeout = timeout
        self.retry_after = retry_after
        self.clock = clock
        self.local = local or LocalCounterStore(clock=clock)
        self.failures = 0
        self._down_until = 0.0
        self._client: Redis | None = None

    def _redis(self) -> Redis:
        if self._client is None:
            from redis.asyncio import Redis

            self._client = Redis.from_url(
                self.url,
                socket_timeout=self.timeout,
                socket_connect_timeout=self.timeout,
                retry_on_timeout=False,
                health_check_interval=30,
            )
        return self._client

    @property
    def available(self) -> bool:
        return time.monotonic() >= self._down_until

    async def hit(self, key: str, period: int) -> Window:
        if not self.available:
            return self.local.hit_now(key, period)
        index, reset_at = window_bounds(self.clock(), period)
        slot = f"{self.PREFIX}{key}:{index}"
        try:
            async with self._redis().pipeline(transaction=True) as pipe:
                pipe.incr(slot)
                pipe.expire(slot, period + 1)
                count, _ = await pipe.execute()
        except Exception as exc:  # any Redis or network failure: count here instead
            self._failed(exc)
            return self.local.hit_now(key, period)
        return Window(int(count), reset_at)

    def _failed(self, exc: Exception) -> None:
        self.failures += 1
        metrics.RATELIMIT_STORE_ERRORS.inc()
        if self.available:
            log.warning("rate-limit counters fall back to this process: Redis failed (%s)", exc)
        self._down_until = time.monotonic() + self.retry_after

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            try:
                await client.aclose()
            except Exception:  # closing a broken connection may fail too; nothing is lost
                log.debug("closing the Redis client failed", exc_info=True)


def make_counter_store(redis_url: str | None) -> CounterStore:
    if redis_url:
        return RedisCounterStore(redis_url)
    return LocalCounterStore()
