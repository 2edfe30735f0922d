from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from starling.adapters.db import unit_of_work
from starling.bootstrap import Container
from starling.domain.errors import Forbidden
from starling.models import Account, Job, Mute
from starling.models.base import utcnow
from starling.repositories.relationships import mute_of
from starling.services.follows.graph_edits import establish_follow
from starling.services.mutes.expire_mute import expire_mute
from starling.services.mutes.mute_account import mute_account
from starling.services.mutes.unmute_account import unmute_account
from tests.conftest import MakeActor


async def _me(container: Container, actor_id: str) -> Account:
    async with unit_of_work(container.sessions, write=False) as session:
        account = await session.get(Account, int(actor_id))
        assert account is not None
        return account


async def test_timed_mute_schedules_its_end(container: Container, make_actor: MakeActor) -> None:
    a = await make_actor("alice")
    b = await make_actor("bob")
    async with unit_of_work(container.sessions) as session:
        alice = await _me(container, a.id)
        await mute_account(session, alice, int(b.id), notifications=False, duration=600)
        await session.flush()
        mute = (await session.execute(select(Mute))).scalar_one()
        assert mute.hide_notifications is False
        assert mute.expires_at is not None
        jobs = {j.kind: j for j in (await session.execute(select(Job))).scalars()}
        assert jobs["unmerge_account_from_home"].payload == {"account_id": int(a.id), "target_account_id": int(b.id)}
        assert jobs["expire_mute"].payload == {"mute_id": mute.id}
        assert jobs["expire_mute"].run_at == mute.expires_at


async def test_expire_mute_only_when_due(container: Container, make_actor: MakeActor) -> None:
    a = await make_actor("alice")
    b = await make_actor("bob")
    async with unit_of_work(container.sessions) as session:
        await establish_follow(session, int(a.id), int(b.id), show_reblogs=True, notify=False)
        await mute_account(session, await _me(container, a.id), int(b.id), duration=600)
        await session.execute(Job.__table__.delete())
    async with unit_of_work(container.sessions) as session:
        mute = (await session.execute(select(Mute))).scalar_one()
        await expire_mute(session, mute.id)
        assert await mute_of(session, int(a.id), int(b.id)) is not None
        mute.expires_at = utcnow() - timedelta(seconds=1)
        await session.flush()
        assert await mute_of(session, int(a.id), int(b.id)) is None
        await expire_mute(session, mute.id)
        await expire_mute(session, mute.id)
        assert (await session.execute(select(Mute))).first() is None
        kinds = [j.kind for j in (await session.execute(select(Job))).scalars()]
        assert kinds == ["merge_account_into_home"]


async def test_unmute_merges_back_a_followed_account(container: Container, make_actor: MakeActor) -> None:
    a = await make_actor("alice")
    b = await make_actor("bob")
    async with unit_of_work(container.sessions) as session:
        await establish_follow(session, int(a.id), int(b.id), show_reblogs=True, notify=False)
        await mute_account(session, await _me(container, a.id), int(b.id))
        await session.execute(Job.__table__.delete())
    async with unit_of_work(container.sessions) as session:
        alice = await _me(container, a.id)
        await unmute_account(session, alice, int(b.id))
        await unmute_account(session, alice, int(b.id))
        await session.flush()
        jobs = list((await session.execute(select(Job))).scalars())
        assert [(j.kind, j.payload) for j in jobs] == [
            ("merge_account_into_home", {"account_id": int(a.id), "target_account_id": int(b.id)})
        ]


async def test_cannot_mute_yourself(container: Container, make_actor: MakeActor) -> None:
    a = await make_actor("alice")
    async with unit_of_work(container.sessions, write=False) as session:
        alice = await _me(container, a.id)
        with pytest.raises(Forbidden):
            await mute_account(session, alice, alice.id)
