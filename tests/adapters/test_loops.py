"""Wake-ups from a commit on another thread (the write lane) reach the event loop they belong to."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from starling.adapters.loops import call_on
from starling.bootstrap import Container
from starling.jobs.runner import JobRunner
from starling.streaming import signals


def _from_another_thread(callback: object) -> None:
    assert callable(callback)
    thread = threading.Thread(target=callback)
    thread.start()
    thread.join()


async def test_call_on_runs_at_once_on_its_own_loop_and_later_from_elsewhere() -> None:
    loop = asyncio.get_running_loop()
    calls: list[int] = []
    call_on(loop, lambda: calls.append(threading.get_ident()))
    assert calls == [threading.get_ident()]

    done = asyncio.Event()

    def record() -> None:
        calls.append(threading.get_ident())
        done.set()

    _from_another_thread(lambda: call_on(loop, record))
    await done.wait()
    assert calls == [threading.get_ident(), threading.get_ident()]


def test_call_on_a_closed_loop_does_nothing() -> None:
    loop = asyncio.new_event_loop()
    loop.close()
    calls: list[int] = []
    call_on(loop, lambda: calls.append(1))
    assert calls == []


@pytest.fixture
def clean_signals() -> Iterator[None]:
    signals.reset()
    yield
    signals.reset()


async def test_a_commit_on_another_thread_wakes_listeners_on_their_loop(clean_signals: None) -> None:
    woken = asyncio.Event()
    threads: list[int] = []

    def listener() -> None:
        threads.append(threading.get_ident())
        woken.set()

    signals.add_listener(listener)
    _from_another_thread(signals.events_committed)
    await woken.wait()
    assert threads == [threading.get_ident()]


class CountingRunner(JobRunner):
    """Reports every round of claiming."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__(sessions, poll_interval=3600)
        self.rounds: asyncio.Queue[int] = asyncio.Queue()

    async def claim(self) -> list[int]:
        ids = await super().claim()
        self.rounds.put_nowait(len(ids))
        return ids


async def test_the_job_runner_is_woken_from_another_thread(container: Container) -> None:
    runner = CountingRunner(container.sessions)
    runner.start()
    try:
        assert await runner.rounds.get() == 0  # nothing to do: it now sleeps for an hour unless woken
        _from_another_thread(runner.wake)
        assert await runner.rounds.get() == 0
    finally:
        await runner.stop()
