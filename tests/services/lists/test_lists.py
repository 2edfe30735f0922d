from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from starling.adapters.db import unit_of_work
from starling.bootstrap import Container
from starling.domain.errors import NotFound, Unprocessable
from starling.domain.paging import Page
from starling.models import Account, ListAccount
from starling.services.lists.add_list_accounts import add_list_accounts
from starling.services.lists.create_list import create_list
from starling.services.lists.list_members import list_members
from starling.services.lists.list_timeline import list_timeline
from starling.services.lists.rules import MAX_LISTS
from starling.services.lists.update_list import update_list
from tests.conftest import MakeActor
from tests.support import factories as f


async def _account(session: AsyncSession, actor_id: str) -> Account:
    account = await session.get(Account, int(actor_id))
    assert account is not None
    return account


async def test_the_owner_may_be_a_member_without_following_itself(
    container: Container, make_actor: MakeActor
) -> None:
    alice = await make_actor("alice")
    async with unit_of_work(container.sessions) as session:
        owner = await _account(session, alice.id)
        the_list = await create_list(session, owner, title="me")
        await add_list_accounts(session, owner, the_list.id, [owner.id, owner.id])
        list_id = the_list.id
    own = await f.status(container, alice.id, "mine")
    async with unit_of_work(container.sessions, write=False) as session:
        owner = await _account(session, alice.id)
        members = await list_members(session, owner, list_id, None)
        assert [a.id for _, a in members] == [owner.id]
        assert [s.id for s in await list_timeline(session, owner, list_id, Page())] == [own]


async def test_adding_is_all_or_nothing(container: Container, make_actor: MakeActor) -> None:
    alice, bob, carol = await make_actor("alice"), await make_actor("bob"), await make_actor("carol")
    await f.follow(container, alice.id, bob.id)
    async with unit_of_work(container.sessions) as session:
        owner = await _account(session, alice.id)
        list_id = (await create_list(session, owner, title="t")).id
    with pytest.raises(NotFound):
        async with unit_of_work(container.sessions) as session:
            owner = await _account(session, alice.id)
            await add_list_accounts(session, owner, list_id, [int(bob.id), int(carol.id)])
    async with unit_of_work(container.sessions, write=False) as session:
        assert await session.scalar(select(func.count()).select_from(ListAccount)) == 0


async def test_a_suspended_account_cannot_be_added(container: Container, make_actor: MakeActor) -> None:
    alice, bob = await make_actor("alice"), await make_actor("bob")
    await f.follow(container, alice.id, bob.id)
    await f.suspend(container, bob.id)
    async with unit_of_work(container.sessions) as session:
        owner = await _account(session, alice.id)
        list_id = (await create_list(session, owner, title="t")).id
        with pytest.raises(NotFound):
            await add_list_accounts(session, owner, list_id, [int(bob.id)])


async def test_lists_per_account_are_limited(container: Container, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    async with unit_of_work(container.sessions) as session:
        owner = await _account(session, alice.id)
        for i in range(MAX_LISTS):
            await create_list(session, owner, title=f"list {i}")
        with pytest.raises(Unprocessable, match="maximum number of lists"):
            await create_list(session, owner, title="one too many")


async def test_update_checks_every_field_before_changing_any(container: Container, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    async with unit_of_work(container.sessions) as session:
        owner = await _account(session, alice.id)
        the_list = await create_list(session, owner, title="before", replies_policy="none")
        with pytest.raises(Unprocessable):
            await update_list(session, owner, the_list.id, title="after", replies_policy="bogus")
        assert (the_list.title, the_list.replies_policy) == ("before", "none")
        updated = await update_list(session, owner, the_list.id, title="  after  ")
        assert (updated.title, updated.replies_policy, updated.exclusive) == ("after", "none", False)
