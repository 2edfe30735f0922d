"""Backfills: batches as jobs, progress in instance_settings, resuming after a crash without doing a batch twice."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from starling.adapters.db import unit_of_work
from starling.bootstrap import Container
from starling.jobs import backfill as bf
from starling.jobs.queue import enqueue
from starling.jobs.runner import JobRunner
from starling.models import Account, InstanceSetting, Job
from starling.models.base import utcnow
from tests.conftest import MakeActor

FAIL_ONCE_AT: dict[str, int] = {}


@bf.backfill("test_touch", description="adds one to following_count of every account", id_column=Account.id,
             batch_size=2)
async def _touch(session: AsyncSession, first_id: int, last_id: int) -> int:
    result = await session.execute(
        update(Account).where(Account.id.between(first_id, last_id))
        .values(following_count=Account.following_count + 1)
    )
    if FAIL_ONCE_AT.get("batch") == first_id:
        FAIL_ONCE_AT.clear()
        raise RuntimeError("crash in the middle of a batch")
    return int(getattr(result, "rowcount", 0) or 0)


async def _counts(container: Container) -> dict[str, tuple[int, int, int]]:
    async with unit_of_work(container.sessions, write=False) as session:
        rows = (await session.execute(select(Account))).scalars()
        return {a.username: (a.statuses_count, a.followers_count, a.following_count) for a in rows}


async def _progress(container: Container, name: str) -> bf.Progress:
    async with unit_of_work(container.sessions, write=False) as session:
        progress = await bf.load_progress(session, name)
    assert progress is not None
    return progress


async def _start(container: Container, name: str, **kw: object) -> bf.Progress:
    async with unit_of_work(container.sessions) as session:
        return await bf.start(session, name, **kw)  # type: ignore[arg-type]


async def test_account_counts_backfill_fixes_drifted_counters(
    container: Container, client: httpx.AsyncClient, make_actor: MakeActor
) -> None:
    ann, bob, cat = await make_actor("ann"), await make_actor("bob"), await make_actor("cat")
    for text in ("one", "two"):
        assert (await client.post("/api/v1/statuses", json={"status": text}, headers=ann.headers)).status_code == 200
    dm = {"status": "@bob hi", "visibility": "direct"}
    assert (await client.post("/api/v1/statuses", json=dm, headers=ann.headers)).status_code == 200
    for actor in (bob, cat):
        r = await client.post(f"/api/v1/accounts/{ann.id}/follow", headers=actor.headers)
        assert r.status_code == 200
    right = await _counts(container)
    assert right["ann"] == (2, 2, 0)
    async with unit_of_work(container.sessions) as session:
        await session.execute(update(Account).values(statuses_count=7, followers_count=0, following_count=5))

    progress = await _start(container, "account_counts", batch_size=1)
    assert progress.state == "running" and progress.total == 3
    ran = await container.runner.run_until_empty()
    assert ran == 3  # one job per batch of one account
    assert await _counts(container) == right
    done = await _progress(container, "account_counts")
    assert (done.state, done.visited, done.changed, done.batches) == ("done", 3, 3, 3)

    # Done stays done; --restart runs it again and finds nothing to change.
    again = await _start(container, "account_counts")
    assert again.state == "done" and await container.runner.run_until_empty() == 0
    again = await _start(container, "account_counts", restart=True)
    assert again.state == "running" and again.run_id != done.run_id
    await container.runner.run_until_empty()
    final = await _progress(container, "account_counts")
    assert (final.state, final.changed) == ("done", 0)


async def test_backfill_resumes_after_a_crash_without_repeating_a_batch(
    container: Container, make_actor: MakeActor
) -> None:
    for name in ("a1", "a2", "a3", "a4", "a5"):
        await make_actor(name)
    async with unit_of_work(container.sessions, write=False) as session:
        ids = sorted((await session.execute(select(Account.id))).scalars())
    FAIL_ONCE_AT["batch"] = ids[2]  # the second batch (ids 3 and 4) fails once, after writing
    await _start(container, "test_touch")

    # A runner that claims the first job and dies before finishing it: its lease must run out first.
    dead = JobRunner(container.sessions)
    assert len(await dead.claim()) == 1
    assert await container.runner.run_until_empty() == 0
    async with unit_of_work(container.sessions) as session:
        await session.execute(update(Job).values(locked_until=utcnow() - timedelta(seconds=1)))

    await container.runner.run_until_empty()  # batch 1 runs; batch 2 fails and is rescheduled
    middle = await _progress(container, "test_touch")
    assert middle.state == "running" and middle.cursor == ids[1] and middle.batches == 1
    async with unit_of_work(container.sessions) as session:
        await session.execute(update(Job).values(run_at=utcnow()))  # skip the retry backoff
    await container.runner.run_until_empty()

    counts = await _counts(container)
    assert {following for _, _, following in counts.values()} == {1}  # every account touched exactly once
    done = await _progress(container, "test_touch")
    assert (done.state, done.batches, done.visited) == ("done", 3, 5)


async def test_stale_and_duplicate_jobs_do_nothing(container: Container, make_actor: MakeActor) -> None:
    for name in ("b1", "b2", "b3"):
        await make_actor(name)
    progress = await _start(container, "test_touch")
    async with unit_of_work(container.sessions) as session:
        # The same batch queued twice, and a job from an older run.
        enqueue(session, bf.JOB_KIND, {"name": "test_touch", "run_id": progress.run_id, "cursor": None})
        enqueue(session, bf.JOB_KIND, {"name": "test_touch", "run_id": "older", "cursor": None})
        enqueue(session, bf.JOB_KIND, {"name": "no_such_backfill", "run_id": "x", "cursor": None})
    await container.runner.run_until_empty()
    counts = await _counts(container)
    assert {following for _, _, following in counts.values()} == {1}
    assert (await _progress(container, "test_touch")).state == "done"


async def test_resume_requeues_a_lost_chain(container: Container, make_actor: MakeActor) -> None:
    for name in ("c1", "c2", "c3"):
        await make_actor(name)
    await _start(container, "test_touch")
    async with unit_of_work(container.sessions) as session:
        await session.execute(update(Job).values(failed_at=utcnow()))  # the chain's job gave up
        assert await bf.queued_job(session, "test_touch") is None
    resumed = await _start(container, "test_touch")
    assert resumed.state == "running"
    await container.runner.run_until_empty()
    assert (await _progress(container, "test_touch")).state == "done"
    async with unit_of_work(container.sessions, write=False) as session:
        keys = set((await session.execute(select(InstanceSetting.key))).scalars())
    assert "backfill:test_touch" in keys


async def test_empty_table_is_done_at_once(container: Container) -> None:
    progress = await _start(container, "account_counts")
    assert progress.state == "done" and progress.total == 0
    assert await container.runner.run_until_empty() == 0
