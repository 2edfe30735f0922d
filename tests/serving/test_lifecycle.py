"""The drain signal streaming code listens to, and the status and pid files the CLI reads."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from starling.serving import lifecycle, state
from tests.support.processes import spawn_lookalike


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    lifecycle.reset()
    yield
    lifecycle.reset()


async def test_drain_wakes_waiters_and_callbacks_once() -> None:
    calls: list[str] = []
    lifecycle.on_drain(lambda: calls.append("a"))
    unregister = lifecycle.on_drain(lambda: calls.append("gone"))
    unregister()
    waiter = asyncio.ensure_future(lifecycle.wait_for_drain())
    await asyncio.sleep(0)
    assert not waiter.done() and not lifecycle.is_draining()
    lifecycle.begin_drain()
    lifecycle.begin_drain()
    await asyncio.wait_for(waiter, 1)
    assert calls == ["a"] and lifecycle.is_draining()
    lifecycle.on_drain(lambda: calls.append("late"))  # registered after the drain began: called at once
    assert calls == ["a", "late"]


async def test_a_failing_callback_does_not_stop_the_others() -> None:
    calls: list[str] = []

    def broken() -> None:
        raise RuntimeError("boom")

    lifecycle.on_drain(broken)
    lifecycle.on_drain(lambda: calls.append("b"))
    lifecycle.begin_drain()
    assert calls == ["b"]


def test_pid_and_status_files(tmp_path: Path) -> None:
    assert state.read_pid(tmp_path) is None
    master = spawn_lookalike("starling", 60)
    try:
        state.write_pid(tmp_path, master.pid)
        assert state.read_pid(tmp_path) == master.pid
        state.remove_pid(tmp_path, master.pid + 1)  # someone else's: left alone
        assert state.read_pid(tmp_path) == master.pid
        state.remove_pid(tmp_path, master.pid)
        assert state.read_pid(tmp_path) is None
    finally:
        master.kill()
        master.wait()
    state.write_status(tmp_path, {"state": "serving", "generation": 2})
    status = state.read_status(tmp_path)
    assert status is not None and status["generation"] == 2 and "updated_at" in status
    state.status_path(tmp_path).write_text("{half")
    assert state.read_status(tmp_path) is None


def test_code_revisions_are_read_without_importing() -> None:
    from starling import db_migrate

    assert set(state.code_revisions()) == {r.revision for r in db_migrate.all_revisions()}
