from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from starling.adapters.db import unit_of_work
from starling.bootstrap import Container
from starling.domain.errors import Forbidden, NotFound
from starling.models import Account, Follow, FollowRequest, Job
from starling.services.follows.authorize_follow_request import authorize_follow_request
from starling.services.follows.follow_account import follow_account
from starling.services.follows.graph_edits import establish_follow
from starling.services.follows.reject_follow_request import reject_follow_request
from starling.services.follows.remove_from_followers import remove_from_followers
from starling.services.follows.unfollow_account import unfollow_account
from tests.conftest import MakeActor


async def _jobs(session: AsyncSession) -> list[tuple[str, dict[str, Any]]]:
    await session.flush()
    rows = (await session.execute(select(Job).order_by(Job.id))).scalars()
    return [(job.kind, dict(job.payload)) for job in rows]


async def _account(session: AsyncSession, actor_id: str) -> Account:
    account = await session.get(Account, int(actor_id))
    assert account is not None
    return account


async def test_follow_enqueues_merge_and_notification(container: Container, make_actor: MakeActor) -> None:
    a = await make_actor("alice")
    b = await make_actor("bob")
    async with unit_of_work(container.sessions) as session:
        alice = await _account(session, a.id)
        target = await follow_account(session, alice, int(b.id))
        assert target.id == int(b.id)
        assert alice.following_count == 1
        assert target.followers_count == 1
        follow = (await session.execute(select(Follow))).scalar_one()
        assert follow.show_reblogs is True
        assert follow.notify is False
        assert await _jobs(session) == [
            ("merge_account_into_home", {"account_id": alice.id, "target_account_id": target.id}),
            ("notify_follow", {"follow_id": follow.id}),
        ]


async def test_follow_locked_account_makes_a_request(container: Container, make_actor: MakeActor) -> None:
    a = await make_actor("alice")
    b = await make_actor("bob", locked=True)
    async with unit_of_work(container.sessions) as session:
        alice = await _account(session, a.id)
        await follow_account(session, alice, int(b.id), reblogs=False)
        request = (await session.execute(select(FollowRequest))).scalar_one()
        assert request.show_reblogs is False
        assert (await session.execute(select(Follow))).first() is None
        assert await _jobs(session) == [("notify_follow_request", {"follow_request_id": request.id})]


async def test_follow_refuses_self_and_unknown(container: Container, make_actor: MakeActor) -> None:
    a = await make_actor("alice")
    async with unit_of_work(container.sessions, write=False) as session:
        alice = await _account(session, a.id)
        with pytest.raises(Forbidden):
            await follow_account(session, alice, alice.id)
        with pytest.raises(NotFound):
            await follow_account(session, alice, 1)


async def test_establishing_an_existing_follow_changes_nothing(container: Container, make_actor: MakeActor) -> None:
    a = await make_actor("alice")
    b = await make_actor("bob")
    async with unit_of_work(container.sessions) as session:
        first = await establish_follow(session, int(a.id), int(b.id), show_reblogs=True, notify=False)
        second = await establish_follow(session, int(a.id), int(b.id), show_reblogs=True, notify=False)
        assert first is not None
        assert second is None
        bob = await _account(session, b.id)
        assert bob.followers_count == 1
        assert [kind for kind, _ in await _jobs(session)] == ["merge_account_into_home"]


async def test_unfollow_enqueues_unmerge_and_is_idempotent(container: Container, make_actor: MakeActor) -> None:
    a = await make_actor("alice")
    b = await make_actor("bob")
    async with unit_of_work(container.sessions) as session:
        await establish_follow(session, int(a.id), int(b.id), show_reblogs=True, notify=False)
    async with unit_of_work(container.sessions) as session:
        alice = await _account(session, a.id)
        await unfollow_account(session, alice, int(b.id))
        await unfollow_account(session, alice, int(b.id))
        assert alice.following_count == 0
        assert (await _account(session, b.id)).followers_count == 0
        kinds = [kind for kind, _ in await _jobs(session)]
        assert kinds.count("unmerge_account_from_home") == 1


async def test_authorize_and_reject(container: Container, make_actor: MakeActor) -> None:
    a = await make_actor("alice")
    c = await make_actor("carol")
    b = await make_actor("bob", locked=True)
    async with unit_of_work(container.sessions) as session:
        await follow_account(session, await _account(session, a.id), int(b.id), notify=True)
        await follow_account(session, await _account(session, c.id), int(b.id))
    async with unit_of_work(container.sessions) as session:
        bob = await _account(session, b.id)
        await authorize_follow_request(session, bob, int(a.id))
        await reject_follow_request(session, bob, int(c.id))
        with pytest.raises(NotFound):
            await reject_follow_request(session, bob, int(c.id))
        follow = (await session.execute(select(Follow))).scalar_one()
        assert (follow.account_id, follow.target_account_id, follow.notify) == (int(a.id), int(b.id), True)
        assert (await session.execute(select(FollowRequest))).first() is None
        assert bob.followers_count == 1
        assert ("merge_account_into_home", {"account_id": int(a.id), "target_account_id": int(b.id)}) in (
            await _jobs(session)
        )


async def test_remove_from_followers(container: Container, make_actor: MakeActor) -> None:
    a = await make_actor("alice")
    b = await make_actor("bob")
    async with unit_of_work(container.sessions) as session:
        await establish_follow(session, int(a.id), int(b.id), show_reblogs=True, notify=False)
    async with unit_of_work(container.sessions) as session:
        bob = await _account(session, b.id)
        former = await remove_from_followers(session, bob, int(a.id))
        assert former.id == int(a.id)
        assert former.following_count == 0
        assert bob.followers_count == 0
        assert ("unmerge_account_from_home", {"account_id": int(a.id), "target_account_id": int(b.id)}) in (
            await _jobs(session)
        )
