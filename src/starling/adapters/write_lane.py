"""The write lane: a thread with an event loop of its own, on which a process runs what writes.

Why. SQLite has one write lock for the whole database; a transaction holds it from its first statement
to its commit, and each statement in between is an ``await``. On a web worker's event loop, busy with
every other request, each of those awaits waits for a turn of the loop (tens of milliseconds under
load), so one post held the lock for 100-200 ms and every writer in every process waited behind it.
On the lane nothing else competes for the loop between two statements of a transaction, so the lock is
held about as long as SQLite needs to do the work. On PostgreSQL the same wait made a post take several
times its own work under load (docs/RELIABILITY.md, drill 3), holding its row locks and connection.

The lane has its own engine and connection pool: a pool's waiting queue belongs to one event loop, so
the two loops never share one. Code that opens sessions asks the container for the ones of the thread
it runs on (``Container.current_sessions``). What the lane runs is given as a coroutine; its context
variables are those of the caller.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from starling.adapters.db import create_engine, make_sessionmaker

log = logging.getLogger("starling.lane")

T = TypeVar("T")

START_TIMEOUT = 10.0
# Connections of the lane's own pool (as many again on overflow): admission lets a process run a few
# requests at once (STARLING_MAX_CONCURRENCY, 4) and its job runner runs 4 jobs at once.
POOL_SIZE = 5


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency of the server
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


class WriteLane:
    """One per process (it belongs to the container). Started on first use, stopped with the container."""

    def __init__(self, database_url: str, *, name: str = "starling-write-lane") -> None:
        self.database_url = database_url
        self.name = name
        self._guard = threading.Lock()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ident: int | None = None
        self._engine: AsyncEngine | None = None
        self._sessions: async_sessionmaker[AsyncSession] | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None

    # ------------------------------------------------------------------ life

    def start(self) -> None:
        """Start the thread (idempotent, from any thread); returns when the lane takes work."""
        with self._guard:
            if self._thread is not None:
                return
            self._ready.clear()
            self._failure = None
            thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread = thread
            thread.start()
        if not self._ready.wait(START_TIMEOUT):
            raise RuntimeError("the write lane did not start")
        if self._failure is not None:
            raise RuntimeError("the write lane could not start") from self._failure

    def _run(self) -> None:
        loop = _new_loop()
        asyncio.set_event_loop(loop)
        try:
            self._engine = create_engine(
                self.database_url, pool_size=POOL_SIZE, inline=self.database_url.startswith("sqlite")
            )
            self._sessions = make_sessionmaker(self._engine)
        except BaseException as exc:
            self._failure = exc
            self._ready.set()
            loop.close()
            return
        self._ident = threading.get_ident()
        self._loop = loop
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            try:
                loop.run_until_complete(self._engine.dispose())
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()

    async def stop(self) -> None:
        """Let the lane finish and close its connections. Work still on it is cancelled."""
        with self._guard:
            thread, loop = self._thread, self._loop
            self._thread = None
            self._loop = None
            self._ident = None
        if thread is None or loop is None:
            return

        def halt() -> None:
            for task in asyncio.all_tasks(loop):
                task.cancel()
            loop.call_soon(loop.stop)

        loop.call_soon_threadsafe(halt)
        await asyncio.to_thread(thread.join, START_TIMEOUT)

    # ------------------------------------------------------------------ use

    @property
    def running(self) -> bool:
        return self._loop is not None

    @property
    def thread_id(self) -> int | None:
        return self._ident

    def here(self) -> bool:
        """True on the lane's own thread."""
        return self._ident is not None and threading.get_ident() == self._ident

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            raise RuntimeError("the write lane is not running")
        return self._engine

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        if self._sessions is None:
            raise RuntimeError("the write lane is not running")
        return self._sessions

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise RuntimeError("the write lane is not running")
        return self._loop

    async def run(self, work: Coroutine[Any, Any, T]) -> T:
        """Run ``work`` on the lane and wait for its result here. Cancelling the waiter cancels the work;
        the work sees the caller's context variables."""
        self.start()
        future = asyncio.run_coroutine_threadsafe(work, self.loop)
        return await asyncio.wrap_future(future)
