"""How the hub of each process learns that events were committed somewhere.

Every backend only *wakes* the hub; the hub then reads the event table, which stays the one source of
truth. A lost wake-up (Redis down, a dropped LISTEN connection) costs latency, not events: the hub also
looks at the table every ``fallback`` seconds on its own.

- ``local``: the in-process signal only (one process does everything).
- ``poll``: the in-process signal, and the table read every ``STARLING_STREAMING_POLL_INTERVAL`` seconds
  (SQLite with several workers, or a separate job runner).
- ``postgres``: ``LISTEN`` on one dedicated connection; the commit hook sends ``NOTIFY``.
- ``redis``: a pub/sub subscription; every committing process publishes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from starling.config import Settings
from starling.streaming import signals
from starling.streaming.emit import PG_CHANNEL

log = logging.getLogger("starling.streaming")

RECONNECT_DELAY = 1.0


class Backend:
    name = "local"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.wake: Callable[[], None] = lambda: None
        self._remove_listener: Callable[[], None] | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def poll_interval(self) -> float:
        """How long the hub waits for a wake-up before reading the table anyway."""
        return max(2.0, self.settings.streaming_poll_interval)

    async def start(self, wake: Callable[[], None]) -> None:
        self.wake = wake
        self._remove_listener = signals.add_listener(wake)
        self._task = asyncio.create_task(self._listen(), name=f"starling-streaming-{self.name}")

    async def _listen(self) -> None:
        return

    async def stop(self) -> None:
        if self._remove_listener is not None:
            self._remove_listener()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task


class PollBackend(Backend):
    name = "poll"

    @property
    def poll_interval(self) -> float:
        return self.settings.streaming_poll_interval


class PostgresBackend(Backend):
    name = "postgres"

    def _dsn(self) -> str:
        return self.settings.effective_database_url.replace("postgresql+asyncpg://", "postgresql://", 1)

    async def _listen(self) -> None:
        import asyncpg  # type: ignore[import-untyped]

        def on_notify(*_: Any) -> None:
            self.wake()

        while True:
            conn: Any = None
            try:
                conn = await asyncpg.connect(self._dsn())
                await conn.add_listener(PG_CHANNEL, on_notify)
                self.wake()  # anything committed while we were not listening
                closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

                def on_close(*_: Any, closed: asyncio.Future[None] = closed) -> None:
                    if not closed.done():
                        closed.set_result(None)

                conn.add_termination_listener(on_close)
                await closed
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("streaming LISTEN connection failed: %s", exc)
            finally:
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await conn.close(timeout=2)
            await asyncio.sleep(RECONNECT_DELAY)


class RedisBackend(Backend):
    name = "redis"

    async def start(self, wake: Callable[[], None]) -> None:
        signals.use_redis(self.settings.redis_url)
        await super().start(wake)

    async def _listen(self) -> None:
        from redis.asyncio import Redis

        while True:
            client: Any = None
            try:
                client = Redis.from_url(self.settings.redis_url or "")
                pubsub = client.pubsub()
                await pubsub.subscribe(signals.REDIS_CHANNEL)
                self.wake()
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        self.wake()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("streaming Redis subscription failed: %s", exc)
            finally:
                if client is not None:
                    with contextlib.suppress(Exception):
                        await client.aclose()
            await asyncio.sleep(RECONNECT_DELAY)


def choose(settings: Settings) -> str:
    if settings.streaming_backend != "auto":
        return settings.streaming_backend
    if settings.redis_url:
        return "redis"
    if not settings.is_sqlite:
        return "postgres"
    return "poll"


def make_backend(settings: Settings) -> Backend:
    kind = choose(settings)
    if kind == "redis" and not settings.redis_url:
        raise ValueError("STARLING_STREAMING_BACKEND=redis needs STARLING_REDIS_URL")
    if kind == "postgres" and settings.is_sqlite:
        raise ValueError("STARLING_STREAMING_BACKEND=postgres needs a PostgreSQL database")
    classes: dict[str, type[Backend]] = {
        "local": Backend, "poll": PollBackend, "postgres": PostgresBackend, "redis": RedisBackend,
    }
    return classes[kind](settings)
