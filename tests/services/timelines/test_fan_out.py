from __future__ import annotations

from datetime import timedelta

from starling.adapters.db import unit_of_work
from starling.bootstrap import Container
from starling.jobs.queue import enqueue
from tests.conftest import Actor, MakeActor
from tests.support import factories as f


async def _actors(make_actor: MakeActor, *names: str) -> list[Actor]:
    return [await make_actor(n) for n in names]


async def test_post_reaches_author_and_local_followers_once_even_when_the_job_runs_twice(
    container: Container, make_actor: MakeActor
) -> None:
    alice, bob, carol = await make_actor("alice"), await make_actor("bob"), await make_actor("carol")
    remote = await f.remote_account(container, "far")
    await f.follow(container, bob.id, alice.id)
    await f.follow(container, remote, alice.id)
    status_id = await f.status(container, alice.id)
    async with unit_of_work(container.sessions) as session:
        enqueue(session, "fan_out_status", {"status_id": status_id})
    await container.runner.run_until_empty()

    assert await f.feed_of(container, alice.id) == [status_id]
    assert await f.feed_of(container, bob.id) == [status_id]
    assert await f.feed_of(container, carol.id) == []
    assert await f.feed_of(container, remote) == []


async def test_reblogs_respect_show_reblogs(container: Container, make_actor: MakeActor) -> None:
    alice, bob, carol, dave = await _actors(make_actor, "alice", "bob", "carol", "dave")
    await f.follow(container, bob.id, alice.id, show_reblogs=True)
    await f.follow(container, carol.id, alice.id, show_reblogs=False)
    original = await f.status(container, dave.id, "original")
    reblog = await f.status(container, alice.id, reblog_of=original)

    assert await f.feed_of(container, bob.id) == [reblog]
    assert await f.feed_of(container, carol.id) == []
    assert await f.feed_of(container, alice.id) == [reblog]


async def test_reblog_of_a_status_already_in_the_feed_is_skipped(container: Container, make_actor: MakeActor) -> None:
    alice, bob, dave = await make_actor("alice"), await make_actor("bob"), await make_actor("dave")
    await f.follow(container, bob.id, alice.id)
    await f.follow(container, bob.id, dave.id)
    original = await f.status(container, dave.id, "original")
    await f.status(container, alice.id, reblog_of=original)
    assert await f.feed_of(container, bob.id) == [original]


async def test_private_posts_reach_only_followers(container: Container, make_actor: MakeActor) -> None:
    alice, bob, carol = await make_actor("alice"), await make_actor("bob"), await make_actor("carol")
    await f.follow(container, bob.id, alice.id)
    status_id = await f.status(container, alice.id, visibility="private", mentions=[carol.id])
    assert await f.feed_of(container, bob.id) == [status_id]
    assert await f.feed_of(container, carol.id) == []


async def test_direct_reaches_only_the_mentioned(container: Container, make_actor: MakeActor) -> None:
    alice, bob, carol = await make_actor("alice"), await make_actor("bob"), await make_actor("carol")
    await f.follow(container, bob.id, alice.id)
    status_id = await f.status(container, alice.id, visibility="direct", mentions=[carol.id])
    assert await f.feed_of(container, alice.id) == [status_id]
    assert await f.feed_of(container, carol.id) == [status_id]
    assert await f.feed_of(container, bob.id) == []


async def test_followers_who_block_or_mute_are_skipped(container: Container, make_actor: MakeActor) -> None:
    alice, bob, carol, dave, erin = await _actors(make_actor, "alice", "bob", "carol", "dave", "erin")
    for follower in (bob, carol, dave, erin):
        await f.follow(container, follower.id, alice.id)
    await f.block(container, bob.id, alice.id)
    await f.mute(container, carol.id, alice.id)
    await f.mute(container, dave.id, alice.id, expires_in=timedelta(seconds=-1))
    status_id = await f.status(container, alice.id)
    assert await f.feed_of(container, bob.id) == []
    assert await f.feed_of(container, carol.id) == []
    assert await f.feed_of(container, dave.id) == [status_id]
    assert await f.feed_of(container, erin.id) == [status_id]


async def test_reblog_skipped_for_followers_blocking_the_original_author(
    container: Container, make_actor: MakeActor
) -> None:
    alice, bob, carol, dave = await _actors(make_actor, "alice", "bob", "carol", "dave")
    await f.follow(container, bob.id, alice.id)
    await f.follow(container, carol.id, alice.id)
    await f.block(container, bob.id, dave.id)
    original = await f.status(container, dave.id)
    reblog = await f.status(container, alice.id, reblog_of=original)
    assert await f.feed_of(container, bob.id) == []
    assert await f.feed_of(container, carol.id) == [reblog]


async def test_replies_to_others_reach_only_those_following_both(container: Container, make_actor: MakeActor) -> None:
    alice, bob, carol, dave = await _actors(make_actor, "alice", "bob", "carol", "dave")
    await f.follow(container, bob.id, alice.id)
    await f.follow(container, carol.id, alice.id)
    await f.follow(container, carol.id, dave.id)
    parent = await f.status(container, dave.id)
    reply = await f.status(container, alice.id, in_reply_to=parent)
    self_reply = await f.status(container, alice.id, in_reply_to=reply)
    assert await f.feed_of(container, bob.id) == [self_reply]
    assert await f.feed_of(container, carol.id) == [self_reply, reply, parent]
    assert await f.feed_of(container, dave.id) == [parent]


async def test_removed_status_leaves_every_feed_with_its_reblogs(container: Container, make_actor: MakeActor) -> None:
    alice, bob, carol = await _actors(make_actor, "alice", "bob", "carol")
    await f.follow(container, bob.id, alice.id)
    kept = await f.status(container, alice.id, "kept")
    gone = await f.status(container, carol.id, "gone")
    reblog = await f.status(container, alice.id, reblog_of=gone)
    assert await f.feed_of(container, bob.id) == [reblog, kept]
    await f.delete_status(container, gone)
    assert await f.feed_of(container, bob.id) == [kept]
    assert await f.feed_of(container, alice.id) == [kept]


async def test_missing_status_is_tolerated(container: Container) -> None:
    async with unit_of_work(container.sessions) as session:
        enqueue(session, "fan_out_status", {"status_id": 12345})
        enqueue(session, "remove_status_from_feeds", {"status_id": 12345})
        enqueue(session, "merge_account_into_home", {"account_id": 1, "target_account_id": 2})
    assert await container.runner.run_until_empty() == 3
