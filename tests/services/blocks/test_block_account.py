from __future__ import annotations

from sqlalchemy import select

from starling.adapters.db import unit_of_work
from starling.bootstrap import Container
from starling.models import Account, Block, Follow, Job
from starling.services.blocks.block_account import block_account
from starling.services.blocks.unblock_account import unblock_account
from starling.services.follows.graph_edits import establish_follow
from tests.conftest import MakeActor


async def test_block_ends_follows_and_unmerges_both_ways(container: Container, make_actor: MakeActor) -> None:
    a = await make_actor("alice")
    b = await make_actor("bob")
    async with unit_of_work(container.sessions) as session:
        await establish_follow(session, int(a.id), int(b.id), show_reblogs=True, notify=False)
        await establish_follow(session, int(b.id), int(a.id), show_reblogs=True, notify=False)
        await session.execute(Job.__table__.delete())
    async with unit_of_work(container.sessions) as session:
        alice = await session.get(Account, int(a.id))
        assert alice is not None
        bob = await block_account(session, alice, int(b.id))
        await block_account(session, alice, int(b.id))
        await session.flush()
        assert (await session.execute(select(Follow))).first() is None
        assert len((await session.execute(select(Block))).all()) == 1
        assert (alice.followers_count, alice.following_count) == (0, 0)
        assert (bob.followers_count, bob.following_count) == (0, 0)
        payloads = [
            (j.payload["account_id"], j.payload["target_account_id"])
            for j in (await session.execute(select(Job).where(Job.kind == "unmerge_account_from_home"))).scalars()
        ]
        assert (alice.id, bob.id) in payloads
        assert (bob.id, alice.id) in payloads


async def test_unblock_removes_only_the_block(container: Container, make_actor: MakeActor) -> None:
    a = await make_actor("alice")
    b = await make_actor("bob")
    async with unit_of_work(container.sessions) as session:
        alice = await session.get(Account, int(a.id))
        assert alice is not None
        await block_account(session, alice, int(b.id))
    async with unit_of_work(container.sessions) as session:
        alice = await session.get(Account, int(a.id))
        assert alice is not None
        await unblock_account(session, alice, int(b.id))
        await unblock_account(session, alice, int(b.id))
        assert (await session.execute(select(Block))).first() is None
