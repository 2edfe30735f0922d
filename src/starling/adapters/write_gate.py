"""The write gate: SQLite writers queue on a file lock instead of on SQLite's busy handler.

SQLite lets one transaction write at a time. A writer that finds the lock taken is made to wait by the
busy handler, which sleeps and tries again, up to 100 ms between tries: under load the lock was often
free while everyone slept, and a post could wait seconds behind luckier ones. Every Starling process
therefore takes an exclusive ``flock`` on ``<database>.write-gate`` before ``BEGIN IMMEDIATE`` and lets
go of it as soon as the transaction ends (its connection is reset or closed). The kernel wakes a waiter
the moment the gate is free; a process that dies lets go of it with its files.

Taking the gate never blocks an event loop: the first try does not wait, and a wait happens on a thread
of its own while the loop goes on. After ``timeout`` seconds (SQLite's busy timeout) the wait is given
up with the error SQLite itself would have raised, "database is locked".
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import sqlite3
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from sqlalchemy.exc import OperationalError
from sqlalchemy.util import await_only
from sqlalchemy.util.concurrency import in_greenlet

_executor: ThreadPoolExecutor | None = None
_executor_guard = threading.Lock()


def _waiters() -> ThreadPoolExecutor:
    global _executor
    with _executor_guard:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=64, thread_name_prefix="starling-write-gate")
        return _executor


def _locked() -> OperationalError:
    return OperationalError("BEGIN IMMEDIATE", None, sqlite3.OperationalError("database is locked"))


def release(fd: int) -> None:
    try:
        fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


class WriteGate:
    """The gate of one database file; ``acquire`` returns the descriptor that ``release`` takes."""

    def __init__(self, path: Path, *, timeout: float = 30.0) -> None:
        self.path = path
        self.timeout = timeout

    def acquire(self) -> int:
        """Take the gate. Called where SQLAlchemy begins a transaction: inside its greenlet when the engine
        is asynchronous (the wait then lets the event loop go on), blocking otherwise."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            pass
        except BaseException:
            os.close(fd)
            raise
        if in_greenlet():
            await_only(self._wait(fd))
        else:
            self._wait_blocking(fd)
        return fd

    def _wait_blocking(self, fd: int) -> None:
        abandoned = threading.Event()
        waiting = _waiters().submit(self._block, fd, abandoned)
        try:
            waiting.result(timeout=self.timeout)
        except TimeoutError:
            self._abandon(waiting, abandoned, fd)
            raise _locked() from None

    async def _wait(self, fd: int) -> None:
        abandoned = threading.Event()
        waiting = asyncio.get_running_loop().run_in_executor(_waiters(), self._block, fd, abandoned)
        try:
            await asyncio.wait_for(asyncio.shield(waiting), self.timeout)
        except (TimeoutError, asyncio.CancelledError) as exc:
            self._abandon(waiting, abandoned, fd)
            if isinstance(exc, TimeoutError):
                raise _locked() from None
            raise

    @staticmethod
    def _block(fd: int, abandoned: threading.Event) -> bool:
        """On a waiting thread: True with the gate taken, or False when nobody wanted it any more."""
        fcntl.flock(fd, fcntl.LOCK_EX)
        if abandoned.is_set():
            release(fd)
            return False
        return True

    @staticmethod
    def _abandon(waiting: asyncio.Future[bool] | Future[bool], abandoned: threading.Event, fd: int) -> None:
        """Nobody waits any more. If the thread took the gate before it could see that, let go of it when
        it is done; otherwise the thread lets go itself."""
        abandoned.set()

        def let_go(done: asyncio.Future[bool] | Future[bool]) -> None:
            if not done.cancelled() and done.exception() is None and done.result():
                release(fd)

        waiting.add_done_callback(let_go)  # type: ignore[arg-type]
