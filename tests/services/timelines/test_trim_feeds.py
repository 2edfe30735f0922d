from __future__ import annotations

import pytest
from sqlalchemy import delete, insert, select

from starling.adapters.db import unit_of_work
from starling.bootstrap import Container
from starling.jobs.queue import enqueue
from starling.models import HomeFeedEntry, Job
from starling.repositories import timelines
from starling.services.timelines.fan_out import TRIM_BUCKETS, TRIM_EVERY, fan_out_status, trim_follower_feeds
from tests.conftest import MakeActor
from tests.support import factories as f


async def _fill(container: Container, account_id: int, status_ids: range) -> None:
    async with unit_of_work(container.sessions) as session:
        await session.execute(
            insert(HomeFeedEntry), [{"account_id": account_id, "status_id": s, "author_id": 1} for s in status_ids]
        )


async def test_trim_keeps_the_newest_entries_of_followers_in_the_bucket(
    container: Container, make_actor: MakeActor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(timelines, "FEED_SIZE", 5)
    author = await make_actor("author")
    followers = [await make_actor(f"follower{i}") for i in range(3)]
    for follower in followers:
        await f.follow(container, follower.id, author.id)
        await _fill(container, int(follower.id), range(1, 13))

    in_bucket = [fl for fl in followers if int(fl.id) % TRIM_BUCKETS == int(followers[0].id) % TRIM_BUCKETS]
    async with unit_of_work(container.sessions) as session:
        trimmed = await trim_follower_feeds(session, int(author.id), int(followers[0].id) % TRIM_BUCKETS)
    assert trimmed == len(in_bucket)
    for follower in followers:
        expected = list(range(12, 7, -1)) if follower in in_bucket else list(range(12, 0, -1))
        assert await f.feed_of(container, follower.id) == expected


async def test_trim_job_and_merge_keep_feeds_to_size(
    container: Container, make_actor: MakeActor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(timelines, "FEED_SIZE", 3)
    monkeypatch.setattr(timelines, "MERGE_SIZE", 10)
    alice, bob = await make_actor("alice"), await make_actor("bob")
    posted = [await f.status(container, alice.id, f"post {i}") for i in range(6)]
    await f.follow(container, bob.id, alice.id, merge=True)
    assert await f.feed_of(container, bob.id) == list(reversed(posted))[:3]

    async with unit_of_work(container.sessions) as session:
        enqueue(session, "trim_home_feeds", {"account_id": int(alice.id), "bucket": int(bob.id) % TRIM_BUCKETS})
        enqueue(session, "trim_home_feeds", {"account_id": int(alice.id), "bucket": int(alice.id) % TRIM_BUCKETS})
    assert await container.runner.run_until_empty() == 2
    assert await f.feed_of(container, alice.id) == list(reversed(posted))[:3]


async def test_a_fan_out_queues_a_trim_when_its_id_says_so(container: Container, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    for _ in range(3 * TRIM_EVERY):
        status_id = await f.status(container, alice.id, fan_out=False)
        async with unit_of_work(container.sessions) as session:
            await fan_out_status(session, status_id)
            await session.flush()
            payloads = list((await session.execute(select(Job.payload).where(Job.kind == "trim_home_feeds"))).scalars())
            await session.execute(delete(Job))
        if status_id % TRIM_EVERY == 0:
            assert payloads == [{"account_id": int(alice.id), "bucket": status_id // TRIM_EVERY % TRIM_BUCKETS}]
        else:
            assert payloads == []
