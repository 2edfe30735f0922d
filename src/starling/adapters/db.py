"""Database engine and the unit of work.

One SQL code path serves SQLite and PostgreSQL. SQLite runs in WAL mode with a busy timeout;
transactions that will write start with ``BEGIN IMMEDIATE`` so two writers queue on the lock
instead of failing when a read lock is upgraded. That lock is the whole database's, held from the
transaction's first statement to its commit, so a request takes it as late as it can: its reads
(authentication) end first (:func:`start_writing`), and its body is read before the first write.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from starling import metrics
from starling.adapters.sqlite_inline import inline_connector
from starling.adapters.write_gate import WriteGate, release

# Next to the database file: the lock its writers queue on (adapters/write_gate.py).
GATE_SUFFIX = ".write-gate"
_GATE_KEY = "starling_write_gate"
_GATE_SINCE = "starling_write_gate_since"

# True while the transactions begun in this context will write (BEGIN IMMEDIATE on SQLite).
_write_intent: contextvars.ContextVar[bool] = contextvars.ContextVar("starling_write_intent", default=False)


def create_engine(url: str, *, pool_size: int = 10, inline: bool = False) -> AsyncEngine:
    """The engine for ``url``. ``inline`` (SQLite only): statements run on the calling thread instead of
    aiosqlite's (``adapters/sqlite_inline.py``), for an event loop that only runs writes."""
    if url.startswith("sqlite"):
        path = make_url(url).database or ""
        memory = path in ("", ":memory:") or "mode=memory" in url
        connect_args: dict[str, Any] = {"timeout": 30, "isolation_level": None, "check_same_thread": False}
        extra: dict[str, Any] = {}
        if inline:
            extra["async_creator"] = inline_connector(path, **connect_args)
        engine = create_async_engine(
            url,
            connect_args=connect_args,
            poolclass=NullPool if memory else None,
            **extra,
        )
        _configure_sqlite(engine, None if memory else WriteGate(Path(path + GATE_SUFFIX)))
        return engine
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        pool_recycle=1800,
    )


def _configure_sqlite(engine: AsyncEngine, gate: WriteGate | None) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA cache_size=-32000")
        cur.execute("PRAGMA temp_store=MEMORY")
        cur.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        if not _write_intent.get():
            conn.exec_driver_sql("BEGIN")
            return
        info = conn.connection.info
        if gate is not None and _GATE_KEY not in info:
            asked = time.perf_counter()
            info[_GATE_KEY] = gate.acquire()
            info[_GATE_SINCE] = taken = time.perf_counter()
            metrics.WRITE_GATE_WAIT.observe(taken - asked)
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            _let_go(info)
            raise

    def _on_end(_dbapi_conn: Any, record: Any, *_: Any) -> None:
        _let_go(record.info)

    # "reset" comes once the transaction is over (before the connection goes back to the pool); the
    # others cover a connection that is closed or thrown away instead.
    for name in ("reset", "checkin", "close", "invalidate", "soft_invalidate", "detach"):
        event.listen(sync_engine.pool, name, _on_end)


def _let_go(info: dict[Any, Any]) -> None:
    fd = info.pop(_GATE_KEY, None)
    if fd is not None:
        release(fd)
        metrics.WRITE_GATE_HELD.observe(time.perf_counter() - info.pop(_GATE_SINCE, time.perf_counter()))


async def start_writing(session: AsyncSession) -> None:
    """The session's next transaction writes; what it read so far was only reading.

    On SQLite the read transaction is ended here (its objects stay loaded: ``expire_on_commit`` is off),
    and the write transaction begins with ``BEGIN IMMEDIATE`` at the next statement, so the database's
    single write lock is not held while the request authenticates or its body arrives. PostgreSQL has
    no such lock: its transaction simply goes on."""
    if session.bind is not None and session.bind.dialect.name == "sqlite" and session.in_transaction():
        await session.commit()
    _write_intent.set(True)


@asynccontextmanager
async def reads_first(session: AsyncSession) -> AsyncIterator[None]:
    """Reads a writing request makes before it writes anything, such as looking up and checking a password
    (tens of milliseconds of hashing): on SQLite they run in a read transaction of their own, ended when
    the block ends, so the write lock is not held meanwhile. Inside a write transaction already begun it
    changes nothing."""
    if not _write_intent.get() or session.in_transaction():
        yield
        return
    _write_intent.set(False)
    try:
        yield
    finally:
        _write_intent.set(True)
    await start_writing(session)


def done_writing() -> None:
    """Called after a request's commit: what it does next (rendering the answer) only reads."""
    _write_intent.set(False)


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=True)


@asynccontextmanager
async def unit_of_work(
    sessions: async_sessionmaker[AsyncSession], *, write: bool = True
) -> AsyncIterator[AsyncSession]:
    """One transaction: commits when the block ends without error, rolls back otherwise.

    Services receive the session and never commit; jobs they add are committed with the write.
    """
    token = _write_intent.set(write)
    try:
        async with sessions() as session:
            try:
                yield session
                if write:
                    await session.commit()
                # A read-only unit simply closes: its objects stay loaded for the caller.
            except BaseException:
                await session.rollback()
                raise
    finally:
        _write_intent.reset(token)
