from __future__ import annotations

import pytest
from sqlalchemy import insert

from starling.adapters.db import unit_of_work
from starling.bootstrap import Container
from starling.domain.ids import new_id
from starling.jobs.queue import enqueue
from starling.models import Account, HomeFeedEntry, Status, StatusTag
from starling.models.base import utcnow
from starling.repositories import timelines
from starling.services.tags.follow_tag import follow_tag, unfollow_tag
from starling.services.timelines.fan_out import TRIM_BUCKETS, TRIM_EVERY, fan_out_status
from tests.conftest import MakeActor
from tests.support import factories as f


async def _follow_tag(container: Container, account_id: str | int, name: str) -> None:
    async with unit_of_work(container.sessions) as session:
        account = await session.get(Account, int(account_id))
        assert account is not None
        await follow_tag(session, account, name)


async def test_tag_followers_get_the_status_once_even_when_the_job_runs_twice(
    container: Container, make_actor: MakeActor
) -> None:
    alice, bob = await make_actor("alice"), await make_actor("bob")
    remote = await f.remote_account(container, "far")
    await f.follow(container, bob.id, alice.id)
    for account in (bob.id, remote):
        await _follow_tag(container, account, "cats")
        await _follow_tag(container, account, "dogs")
    status_id = await f.status(container, alice.id, "#cats #dogs", tags=["cats", "dogs"])
    async with unit_of_work(container.sessions) as session:
        enqueue(session, "fan_out_status", {"status_id": status_id})
    await container.runner.run_until_empty()

    assert await f.feed_of(container, bob.id) == [status_id]
    assert await f.feed_of(container, alice.id) == [status_id]
    assert await f.feed_of(container, remote) == []


async def test_remote_public_statuses_reach_local_tag_followers(container: Container, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    remote = await f.remote_account(container, "far")
    await _follow_tag(container, alice.id, "cats")
    status_id = await f.status(container, remote, "#cats", tags=["cats"])
    assert await f.feed_of(container, alice.id) == [status_id]


async def test_those_who_block_or_mute_someone_mentioned_are_skipped(
    container: Container, make_actor: MakeActor
) -> None:
    alice, bob, carol, dave = [await make_actor(n) for n in ("alice", "bob", "carol", "dave")]
    for account in (bob, carol):
        await _follow_tag(container, account.id, "cats")
    await f.block(container, bob.id, dave.id)
    await f.mute(container, carol.id, dave.id)
    await f.status(container, alice.id, "#cats @dave", tags=["cats"], mentions=[dave.id])
    assert await f.feed_of(container, bob.id) == []
    assert await f.feed_of(container, carol.id) == []


async def test_unfollowing_the_tag_stops_new_statuses(container: Container, make_actor: MakeActor) -> None:
    alice, bob = await make_actor("alice"), await make_actor("bob")
    await _follow_tag(container, bob.id, "cats")
    first = await f.status(container, alice.id, "#cats", tags=["cats"])
    async with unit_of_work(container.sessions) as session:
        account = await session.get(Account, int(bob.id))
        assert account is not None
        view = await unfollow_tag(session, account, "#Cats")
        assert view.following is False
    await f.status(container, alice.id, "#cats again", tags=["cats"])
    assert await f.feed_of(container, bob.id) == [first]


async def test_tag_follower_buckets(container: Container, make_actor: MakeActor) -> None:
    alice, bob = await make_actor("alice"), await make_actor("bob")
    remote = await f.remote_account(container, "far")
    for account in (bob.id, remote):
        await _follow_tag(container, account, "cats")
    status_id = await f.status(container, alice.id, "#cats", tags=["cats"])
    buckets = 16
    async with unit_of_work(container.sessions, write=False) as session:
        found = []
        for bucket in range(buckets):
            rows = await session.execute(timelines.tag_follower_bucket(status_id, bucket, buckets))
            found += list(rows.scalars())
    assert found == [int(bob.id)]


async def test_a_fan_out_trims_the_feeds_of_tag_followers_in_its_bucket(
    container: Container, make_actor: MakeActor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(timelines, "FEED_SIZE", 3)
    alice, bob = await make_actor("alice"), await make_actor("bob")
    await _follow_tag(container, bob.id, "cats")
    async with unit_of_work(container.sessions) as session:
        await session.execute(
            insert(HomeFeedEntry), [{"account_id": int(bob.id), "status_id": s, "author_id": 1} for s in range(1, 9)]
        )
        tag_id = (await timelines.find_tag_ids(session, ["cats"]))["cats"]
        # An id that asks for a trim of bob's bucket (see fan_out.TRIM_EVERY).
        base = new_id() // (TRIM_EVERY * TRIM_BUCKETS) * (TRIM_EVERY * TRIM_BUCKETS)
        status_id = base + int(bob.id) % TRIM_BUCKETS * TRIM_EVERY
        session.add(Status(id=status_id, account_id=int(alice.id), text="#cats", content="#cats", created_at=utcnow()))
        await session.flush()
        session.add(StatusTag(status_id=status_id, tag_id=tag_id))
    async with unit_of_work(container.sessions) as session:
        await fan_out_status(session, status_id)
    assert await f.feed_of(container, bob.id) == [status_id, 8, 7]
