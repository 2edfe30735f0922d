"""The write gate: SQLite writers of every thread and process queue on one file lock, taken before
``BEGIN IMMEDIATE`` and let go of as soon as the transaction ends."""

from __future__ import annotations

import asyncio
import fcntl
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from starling.adapters.db import GATE_SUFFIX, create_engine, make_sessionmaker, unit_of_work
from starling.adapters.write_gate import WriteGate, release


def gate_is_free(path: Path) -> bool:
    fd = os.open(path, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # closing lets go of a lock taken here
    return True


@pytest.fixture
def gate_path(tmp_path: Path) -> Path:
    return tmp_path / "starling.db.write-gate"


def test_the_gate_is_exclusive_between_threads(gate_path: Path) -> None:
    gate = WriteGate(gate_path)
    first = gate.acquire()
    assert not gate_is_free(gate_path)
    got: list[int] = []
    waiter = threading.Thread(target=lambda: got.append(gate.acquire()))
    waiter.start()
    waiter.join(0.2)
    assert waiter.is_alive() and got == []  # still waiting: the gate is held
    release(first)
    waiter.join()
    assert len(got) == 1
    release(got[0])
    assert gate_is_free(gate_path)


def test_a_wait_that_lasts_too_long_fails_as_sqlite_would_and_leaves_the_gate_free(gate_path: Path) -> None:
    holder = WriteGate(gate_path).acquire()
    impatient = WriteGate(gate_path, timeout=0.05)
    with pytest.raises(OperationalError, match="database is locked"):
        impatient.acquire()
    release(holder)
    # The thread that was still waiting takes the gate when it frees, sees nobody wants it, and lets go.
    fd = WriteGate(gate_path).acquire()
    release(fd)


def test_a_process_killed_while_holding_the_gate_lets_go_of_it(gate_path: Path) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from pathlib import Path; from starling.adapters.write_gate import WriteGate;"
         f"WriteGate(Path({str(gate_path)!r})).acquire(); print('held', flush=True); time.sleep(600)"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "held"
        assert not gate_is_free(gate_path)
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        assert gate_is_free(gate_path)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


@pytest.fixture
def database(tmp_path: Path) -> Iterator[str]:
    path = tmp_path / "gate.db"
    yield f"sqlite+aiosqlite:///{path}"


async def test_a_write_transaction_holds_the_gate_until_it_ends_and_reads_never_take_it(database: str) -> None:
    engine = create_engine(database)
    sessions = make_sessionmaker(engine)
    gate_path = Path(database.removeprefix("sqlite+aiosqlite:///") + GATE_SUFFIX)
    try:
        async with unit_of_work(sessions, write=False) as session:
            await session.execute(text("SELECT 1"))
            assert gate_is_free(gate_path)
        async with unit_of_work(sessions) as session:
            await session.execute(text("CREATE TABLE IF NOT EXISTS t (x INTEGER)"))
            assert not gate_is_free(gate_path)
        assert gate_is_free(gate_path)
        with pytest.raises(LookupError):
            async with unit_of_work(sessions) as session:
                await session.execute(text("INSERT INTO t VALUES (1)"))
                raise LookupError("rolled back")
        assert gate_is_free(gate_path)
    finally:
        await engine.dispose()


@pytest.mark.parametrize("inline", [True, False], ids=["inline", "aiosqlite"])
async def test_writers_waiting_for_the_gate_leave_the_event_loop_free(database: str, inline: bool) -> None:
    """Even where SQLite runs on the loop's own thread: the wait is for the gate, on a thread of its own,
    never for SQLite's lock."""
    engine = create_engine(database, inline=inline)
    sessions = make_sessionmaker(engine)
    try:
        async with unit_of_work(sessions) as session:
            await session.execute(text("CREATE TABLE t (x INTEGER)"))
        first_in = asyncio.Event()
        go_on = asyncio.Event()

        async def first() -> None:
            async with unit_of_work(sessions) as session:
                await session.execute(text("INSERT INTO t VALUES (1)"))
                first_in.set()
                await go_on.wait()

        async def second() -> None:
            async with unit_of_work(sessions) as session:
                await session.execute(text("INSERT INTO t VALUES (2)"))

        holder = asyncio.create_task(first())
        await first_in.wait()
        waiter = asyncio.create_task(second())
        for _ in range(20):  # the loop keeps turning while the second writer waits for the gate
            await asyncio.sleep(0.01)
        assert not waiter.done()
        go_on.set()
        await asyncio.gather(holder, waiter)
        async with unit_of_work(sessions, write=False) as session:
            assert (await session.execute(text("SELECT count(*) FROM t"))).scalar_one() == 2
    finally:
        await engine.dispose()
