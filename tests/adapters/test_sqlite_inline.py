"""SQLite on the calling thread: an engine made with ``inline=True`` runs its statements right away, on the
event loop's own thread, without a turn of the loop, and otherwise behaves as the aiosqlite one."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from starling.adapters.db import create_engine, make_sessionmaker, unit_of_work


@pytest.fixture(params=[True, False], ids=["inline", "aiosqlite"])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'inline.db'}", inline=request.param)
    engine.sync_engine.info = {"inline": request.param}  # type: ignore[attr-defined]

    @event.listens_for(engine.sync_engine, "connect")
    def _thread_function(dbapi_conn: object, _record: object) -> None:
        dbapi_conn.create_function("thread_id", 0, threading.get_ident)  # type: ignore[attr-defined]

    yield engine
    await engine.dispose()


async def test_statements_run_on_the_calling_thread_only_when_inline(engine: AsyncEngine) -> None:
    sessions = make_sessionmaker(engine)
    async with unit_of_work(sessions, write=False) as session:
        thread = (await session.execute(text("SELECT thread_id()"))).scalar_one()
    inline = engine.sync_engine.info["inline"]  # type: ignore[attr-defined]
    assert (thread == threading.get_ident()) is inline


async def test_an_inline_statement_costs_no_turn_of_the_event_loop(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'turns.db'}", inline=True)
    sessions = make_sessionmaker(engine)
    try:
        async with unit_of_work(sessions) as session:
            await session.execute(text("CREATE TABLE t (x INTEGER)"))
        turned: list[bool] = []
        async with unit_of_work(sessions) as session:
            asyncio.get_running_loop().call_soon(turned.append, True)
            for i in range(20):
                await session.execute(text("INSERT INTO t VALUES (:x)"), {"x": i})
            rows = (await session.execute(text("SELECT count(*) FROM t"))).scalar_one()
            await session.commit()
            # Twenty inserts, a count and the commit, and the loop never ran its callback in between.
            assert turned == []
        assert rows == 20
        await asyncio.sleep(0)
        assert turned == [True]
    finally:
        await engine.dispose()


async def test_both_engines_behave_alike(engine: AsyncEngine) -> None:
    sessions = make_sessionmaker(engine)
    async with unit_of_work(sessions) as session:
        await session.execute(text("CREATE TABLE t (x INTEGER PRIMARY KEY, y TEXT NOT NULL)"))
        await session.execute(text("INSERT INTO t (x, y) VALUES (1, 'one'), (2, 'two')"))
    with pytest.raises(IntegrityError):
        async with unit_of_work(sessions) as session:
            await session.execute(text("INSERT INTO t (x, y) VALUES (3, 'three')"))
            await session.execute(text("INSERT INTO t (x, y) VALUES (1, 'again')"))
    async with unit_of_work(sessions, write=False) as session:
        rows = (await session.execute(text("SELECT x, y FROM t ORDER BY x"))).all()
        assert [tuple(r) for r in rows] == [(1, "one"), (2, "two")]  # the failed transaction left nothing
        result = await session.stream(text("SELECT x FROM t ORDER BY x"))
        assert [r[0] async for r in result] == [1, 2]
