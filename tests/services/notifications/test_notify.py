from __future__ import annotations

from sqlalchemy import func, select

from starling.adapters.db import unit_of_work
from starling.bootstrap import Container
from starling.models import Notification
from starling.services.notifications.notify import notify
from tests.conftest import MakeActor
from tests.support import factories as f


async def _count(container: Container) -> int:
    async with unit_of_work(container.sessions, write=False) as session:
        return int(await session.scalar(select(func.count()).select_from(Notification)) or 0)


async def test_notify_is_idempotent_per_cause(container: Container, make_actor: MakeActor) -> None:
    alice, bob = await make_actor("alice"), await make_actor("bob")
    for _ in range(2):
        async with unit_of_work(container.sessions) as session:
            made = await notify(session, account_id=int(alice.id), from_account_id=int(bob.id), type="follow",
                                activity_id=42)
            assert made is not None
    assert await _count(container) == 1


async def test_no_notification_to_self_remote_blocked_or_muted(container: Container, make_actor: MakeActor) -> None:
    alice, bob, carol, dave = [await make_actor(n) for n in ("alice", "bob", "carol", "dave")]
    remote = await f.remote_account(container, "far")
    await f.block(container, alice.id, bob.id)
    await f.mute(container, alice.id, carol.id)
    async with unit_of_work(container.sessions) as session:
        for sender in (alice.id, bob.id, carol.id):
            assert await notify(session, account_id=int(alice.id), from_account_id=int(sender), type="follow",
                                activity_id=1) is None
        assert await notify(session, account_id=remote, from_account_id=int(dave.id), type="follow",
                            activity_id=1) is None
        assert await notify(session, account_id=int(alice.id), from_account_id=int(dave.id), type="follow",
                            activity_id=1) is not None
    assert await _count(container) == 1
