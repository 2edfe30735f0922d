"""The job runner: jobs commit with the write, run once in effect, survive a dead runner, retry on failure."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from starling.adapters.db import unit_of_work
from starling.bootstrap import Container
from starling.jobs.queue import enqueue
from starling.jobs.registry import job_handler
from starling.jobs.runner import JobRunner
from starling.models import InstanceSetting, Job
from starling.models.base import utcnow

CALLS: list[int] = []


@job_handler("test.count")
async def _count(session: AsyncSession, payload: dict[str, Any]) -> None:
    CALLS.append(payload["n"])
    row = await session.get(InstanceSetting, "test-counter")
    if row is None:
        session.add(InstanceSetting(key="test-counter", value=1))
    else:
        row.value = int(row.value) + 1


@job_handler("test.fail")
async def _fail(_session: AsyncSession, _payload: dict[str, Any]) -> None:
    raise RuntimeError("boom")


async def _counter(container: Container) -> int:
    async with unit_of_work(container.sessions, write=False) as session:
        row = await session.get(InstanceSetting, "test-counter")
        return int(row.value) if row else 0


async def _jobs(container: Container) -> list[Job]:
    async with unit_of_work(container.sessions, write=False) as session:
        return list((await session.execute(select(Job))).scalars())


async def test_job_is_invisible_until_the_write_commits(container: Container) -> None:
    CALLS.clear()
    try:
        async with unit_of_work(container.sessions) as session:
            enqueue(session, "test.count", {"n": 1})
            raise ValueError("the request failed before commit")
    except ValueError:
        pass
    assert await container.runner.run_until_empty() == 0
    assert CALLS == []


async def test_committed_job_runs_once_and_is_deleted(container: Container) -> None:
    CALLS.clear()
    async with unit_of_work(container.sessions) as session:
        enqueue(session, "test.count", {"n": 7})
    assert await container.runner.run_until_empty() == 1
    assert CALLS == [7]
    assert await _counter(container) == 1
    assert await _jobs(container) == []


async def test_a_dead_runners_job_is_taken_over_after_its_lease(container: Container) -> None:
    CALLS.clear()
    async with unit_of_work(container.sessions) as session:
        enqueue(session, "test.count", {"n": 3})
    dead = JobRunner(container.sessions)
    claimed = await dead.claim()
    assert len(claimed) == 1
    # The dead runner never finishes; while its lease holds nobody else takes the job.
    assert await container.runner.run_until_empty() == 0
    async with unit_of_work(container.sessions) as session:
        await session.execute(update(Job).values(locked_until=utcnow() - timedelta(seconds=1)))
    assert await container.runner.run_until_empty() == 1
    assert await _counter(container) == 1
    # The dead runner waking up late does not run it a second time.
    assert await dead.run_one(claimed[0]) is True
    assert await _counter(container) == 1


async def test_two_runners_never_claim_the_same_job(container: Container) -> None:
    async with unit_of_work(container.sessions) as session:
        for n in range(10):
            enqueue(session, "test.count", {"n": n})
    a, b = JobRunner(container.sessions, batch_size=6), JobRunner(container.sessions, batch_size=6)
    first, second = await a.claim(), await b.claim()
    assert len(first) == 6
    assert len(second) == 4
    assert not set(first) & set(second)


async def test_failures_back_off_and_end_as_failed(container: Container) -> None:
    async with unit_of_work(container.sessions) as session:
        job_id = enqueue(session, "test.fail", {}, max_attempts=2)
    assert await container.runner.run_until_empty() == 1
    (job,) = await _jobs(container)
    assert job.attempts == 1
    assert job.run_at > utcnow()
    assert job.last_error is not None and "boom" in job.last_error
    async with unit_of_work(container.sessions) as session:
        await session.execute(update(Job).where(Job.id == job_id).values(run_at=utcnow()))
    await container.runner.run_until_empty()
    (job,) = await _jobs(container)
    assert job.attempts == 2
    assert job.failed_at is not None
    assert await container.runner.run_until_empty() == 0


async def test_unknown_kind_is_recorded_not_lost(container: Container) -> None:
    async with unit_of_work(container.sessions) as session:
        enqueue(session, "no.such.kind", {})
    await container.runner.run_until_empty()
    async with unit_of_work(container.sessions, write=False) as session:
        count = await session.scalar(select(func.count()).select_from(Job).where(Job.attempts == 1))
    assert count == 1


async def test_a_failure_that_cannot_be_recorded_does_not_stop_the_runner(
    container: Container, monkeypatch: Any
) -> None:
    async with unit_of_work(container.sessions) as session:
        enqueue(session, "test.fail", {})
    runner = JobRunner(container.sessions)

    async def database_gone(_job_id: int, _exc: Exception) -> None:
        raise ConnectionError("the database went away")

    monkeypatch.setattr(runner, "_record_failure", database_gone)
    (job_id,) = await runner.claim()
    assert await runner.run_one(job_id) is False
    # The job is still there: its lease will run out and another attempt will come.
    (job,) = await _jobs(container)
    assert job.id == job_id and job.failed_at is None


SLOW_GATE: dict[str, asyncio.Event] = {}


@job_handler("test.slow")
async def _slow(session: AsyncSession, payload: dict[str, Any]) -> None:
    # Like the media job: end the transaction before the slow part, then wait for the test to let go.
    await session.commit()
    await SLOW_GATE["gate"].wait()
    CALLS.append(payload["n"])


async def test_a_running_jobs_lease_is_extended(container: Container) -> None:
    CALLS.clear()
    SLOW_GATE["gate"] = asyncio.Event()
    async with unit_of_work(container.sessions) as session:
        enqueue(session, "test.slow", {"n": 7})
    busy = JobRunner(container.sessions, lease=timedelta(seconds=3))
    claimed = await busy.claim()
    assert len(claimed) == 1
    running = asyncio.create_task(busy.run_one(claimed[0]))
    await asyncio.sleep(4.5)  # longer than the lease it was claimed with: only the extensions keep it
    other = JobRunner(container.sessions)
    assert await other.claim() == []
    SLOW_GATE["gate"].set()
    assert await running is True
    assert CALLS == [7]
    assert await _jobs(container) == []
