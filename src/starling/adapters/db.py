"""Database engine and the unit of work.

One SQL code path serves SQLite and PostgreSQL. SQLite runs in WAL mode with a busy timeout;
transactions that will write start with ``BEGIN IMMEDIATE`` so two writers queue on the lock
instead of failing when a read lock is upgraded.
"""

from __future__ import annotations

import contextvars
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

# Set to True by the unit of work when the transaction is going to write.
_write_intent: contextvars.ContextVar[bool] = contextvars.ContextVar("starling_write_intent", default=False)


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    if url.startswith("sqlite"):
        engine = create_async_engine(
            url,
            connect_args={"timeout": 30, "isolation_level": None, "check_same_thread": False},
            poolclass=NullPool if ":memory:" in url else None,
        )
        _configure_sqlite(engine)
        return engine
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        pool_recycle=1800,
    )


def _configure_sqlite(engine: AsyncEngine) -> None:
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
        conn.exec_driver_sql("BEGIN IMMEDIATE" if _write_intent.get() else "BEGIN")


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
