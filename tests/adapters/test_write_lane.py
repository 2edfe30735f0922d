"""The write lane: work runs on its own thread and event loop, with the caller's context, and with
connections of its own."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from starling.adapters.write_lane import WriteLane
from starling.bootstrap import Container, build_container
from starling.config import Settings

WHO = contextvars.ContextVar("who", default="nobody")


@pytest.fixture
async def lane(settings: Settings) -> AsyncIterator[WriteLane]:
    lane = WriteLane(settings.effective_database_url)
    yield lane
    await lane.stop()


async def test_work_runs_on_the_lane_thread_with_the_callers_context(lane: WriteLane) -> None:
    WHO.set("the caller")

    async def work() -> tuple[int, str, bool]:
        return threading.get_ident(), WHO.get(), lane.here()

    ident, who, here = await lane.run(work())
    assert ident != threading.get_ident()
    assert who == "the caller"
    assert here and not lane.here()


async def test_an_error_reaches_the_caller(lane: WriteLane) -> None:
    async def work() -> None:
        raise LookupError("from the lane")

    with pytest.raises(LookupError, match="from the lane"):
        await lane.run(work())


async def test_cancelling_the_caller_cancels_the_work(lane: WriteLane) -> None:
    started, cancelled = threading.Event(), threading.Event()

    async def work() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    waiting = asyncio.create_task(lane.run(work()))
    assert await asyncio.to_thread(started.wait, 30)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert await asyncio.to_thread(cancelled.wait, 30)


async def test_the_lane_queries_with_connections_of_its_own(lane: WriteLane) -> None:
    async def work() -> int:
        async with lane.sessions() as session:
            return int((await session.execute(text("SELECT 41 + 1"))).scalar_one())

    assert await lane.run(work()) == 42


async def test_stopping_ends_the_thread_and_a_later_use_starts_it_again(lane: WriteLane) -> None:
    async def name() -> str:
        return threading.current_thread().name

    assert await lane.run(name()) == "starling-write-lane"
    threads = {t for t in threading.enumerate() if t.name == "starling-write-lane"}
    await lane.stop()
    assert not lane.running
    assert all(not t.is_alive() for t in threads)
    assert await lane.run(name()) == "starling-write-lane"


async def test_the_container_hands_out_the_sessions_of_the_thread_it_runs_on(settings: Settings) -> None:
    container: Container = build_container(settings.model_copy(update={"write_lane": "on"}))
    try:
        assert container.lane is not None
        lane = container.lane

        async def which() -> bool:
            return container.current_sessions() is lane.sessions

        assert await lane.run(which())
        assert container.current_sessions() is container.sessions
    finally:
        await container.close()


async def test_both_databases_use_the_lane_by_default_and_it_can_be_turned_off(tmp_path: Path) -> None:
    sqlite = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", data_dir=tmp_path)
    postgres = Settings(database_url="postgresql+asyncpg://u@127.0.0.1/x")
    assert sqlite.uses_write_lane and postgres.uses_write_lane
    assert not sqlite.model_copy(update={"write_lane": "off"}).uses_write_lane
    assert not postgres.model_copy(update={"write_lane": "off"}).uses_write_lane
    container = build_container(sqlite.model_copy(update={"write_lane": "off"}))
    assert container.lane is None
    await container.close()
