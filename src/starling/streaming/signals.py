"""The in-process signal "events were committed", and the Redis publisher that carries it further.

Fired after every commit that wrote stream events, in whichever process committed: a web worker (its
hub wakes at once), or the job runner's process (no hub: with Redis configured it publishes, so the
web workers wake; without it they find the rows by polling or PostgreSQL's NOTIFY).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from starling.adapters.loops import call_on, running_loop

log = logging.getLogger("starling.streaming")

REDIS_CHANNEL = "starling:streaming"

# Each listener with the event loop it belongs to (it is called there, whichever thread commits).
_listeners: list[tuple[Callable[[], None], asyncio.AbstractEventLoop | None]] = []
_publisher: RedisPublisher | None = None
_publisher_checked = False


def add_listener(callback: Callable[[], None]) -> Callable[[], None]:
    """Call ``callback`` after every commit that wrote events, on the event loop running now."""
    entry = (callback, running_loop())
    _listeners.append(entry)

    def remove() -> None:
        if entry in _listeners:
            _listeners.remove(entry)

    return remove


class RedisPublisher:
    """Publishes a wake-up on the Redis channel; one message however many commits are waiting."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._client: Any = None
        self._pending = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None

    def poke(self) -> None:
        loop = running_loop()
        if loop is None:
            return
        if self._loop is not None and loop is not self._loop and not self._loop.is_closed():
            call_on(self._loop, self.poke)  # the client belongs to that loop (a commit on the write lane)
            return
        if loop is not self._loop:
            self._loop, self._client = loop, None
        if self._pending:
            return
        self._pending = True
        self._task = loop.create_task(self._publish())

    async def _publish(self) -> None:
        self._pending = False
        try:
            if self._client is None:
                from redis.asyncio import Redis

                self._client = Redis.from_url(self.url)
            await self._client.publish(REDIS_CHANNEL, b"1")
        except Exception as exc:  # Redis only accelerates: the hubs still poll the table.
            log.warning("publishing a streaming wake-up to Redis failed: %s", exc)

    async def close(self) -> None:
        if self._client is not None:
            with contextlib.suppress(Exception):
                await self._client.aclose()
            self._client = None


def use_redis(url: str | None) -> None:
    """Set (or clear) the Redis publisher of this process; the hub calls it with its settings."""
    global _publisher, _publisher_checked
    _publisher_checked = True
    if url is None:
        _publisher = None
    elif _publisher is None or _publisher.url != url:
        _publisher = RedisPublisher(url)


def _default_publisher() -> RedisPublisher | None:
    """A process without a hub (the job runner) publishes when its settings name Redis."""
    global _publisher_checked
    if not _publisher_checked:
        _publisher_checked = True
        from starling.config import get_settings

        settings = get_settings()
        if settings.redis_url and settings.streaming_backend in ("auto", "redis"):
            use_redis(settings.redis_url)
    return _publisher


def _guarded(callback: Callable[[], None]) -> Callable[[], None]:
    def call() -> None:
        try:
            callback()
        except Exception:
            log.exception("streaming listener failed")

    return call


def events_committed() -> None:
    for callback, loop in list(_listeners):
        call_on(loop, _guarded(callback))
    publisher = _default_publisher()
    if publisher is not None:
        publisher.poke()


def reset() -> None:
    """For tests."""
    global _publisher, _publisher_checked
    _listeners.clear()
    _publisher = None
    _publisher_checked = False
