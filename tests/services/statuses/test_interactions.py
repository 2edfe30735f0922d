"""Interaction services: concurrent requests, thread limits, and jobs whose subject is gone."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from starling.adapters.db import unit_of_work
from starling.bootstrap import Container
from starling.domain.ids import new_id
from starling.jobs.registry import get_handler
from starling.models import Account, Favourite, Notification, Status, StatusTag, Tag, User
from starling.models.base import utcnow
from starling.services.statuses.compose import StatusRules
from starling.services.statuses.favourite_status import favourite_status
from starling.services.statuses.post_status import NewStatus, post_status
from starling.services.statuses.reblog_status import reblog_status
from starling.services.statuses.status_context import MAX_ANCESTORS, status_context
from tests.conftest import MakeActor


async def _account(session: AsyncSession, actor_id: str) -> Account:
    account = await session.get(Account, int(actor_id))
    assert account is not None
    return account


async def _post(container: Container, actor_id: str, text: str, **kw: object) -> Status:
    async with unit_of_work(container.sessions) as session:
        account = await _account(session, actor_id)
        user = (await session.execute(select(User).where(User.account_id == account.id))).scalar_one()
        posted = await post_status(
            session, account, user, NewStatus(text=text, **kw),  # type: ignore[arg-type]
            StatusRules.from_settings(container.settings),
        )
        return posted.status


async def test_concurrent_favourites_make_one_row(container: Container, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    bob = await make_actor("bob")
    status = await _post(container, alice.id, "hot")

    async def fav() -> None:
        async with unit_of_work(container.sessions) as session:
            await favourite_status(session, await _account(session, bob.id), status.id)

    await asyncio.gather(fav(), fav(), fav())
    async with unit_of_work(container.sessions, write=False) as session:
        assert await session.scalar(select(func.count()).select_from(Favourite)) == 1
        fresh = await session.get(Status, status.id)
        assert fresh is not None and fresh.favourites_count == 1


async def test_concurrent_reblogs_make_one_reblog(container: Container, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    bob = await make_actor("bob")
    status = await _post(container, alice.id, "share")

    async def boost() -> int:
        async with unit_of_work(container.sessions) as session:
            return (await reblog_status(session, await _account(session, bob.id), status.id)).id

    ids = await asyncio.gather(boost(), boost())
    assert ids[0] == ids[1]
    async with unit_of_work(container.sessions, write=False) as session:
        fresh = await session.get(Status, status.id)
        assert fresh is not None and fresh.reblogs_count == 1


async def test_concurrent_posts_with_one_idempotency_key(container: Container, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    results = await asyncio.gather(*(_post(container, alice.id, "once", idempotency_key="same") for _ in range(3)))
    assert len({s.id for s in results}) == 1
    async with unit_of_work(container.sessions, write=False) as session:
        assert await session.scalar(select(func.count()).select_from(Status)) == 1


async def test_concurrent_new_hashtag(container: Container, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    await asyncio.gather(*(_post(container, alice.id, f"#Brandnew {i}") for i in range(3)))
    async with unit_of_work(container.sessions, write=False) as session:
        assert await session.scalar(select(func.count()).select_from(Tag)) == 1
        assert await session.scalar(select(func.count()).select_from(StatusTag)) == 3


async def test_ancestors_are_capped(container: Container, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    chain: list[Status] = []
    async with unit_of_work(container.sessions) as session:
        parent: int | None = None
        for i in range(MAX_ANCESTORS + 5):
            s = Status(id=new_id(), account_id=int(alice.id), text=str(i), content=f"<p>{i}</p>", visibility="public",
                       in_reply_to_id=parent, created_at=utcnow())
            session.add(s)
            chain.append(s)
            parent = s.id
    async with unit_of_work(container.sessions, write=False) as session:
        ctx = await status_context(session, chain[-1].id, None)
        assert [s.id for s in ctx.ancestors] == [s.id for s in chain[-1 - MAX_ANCESTORS:-1]]
        top = await status_context(session, chain[0].id, None)
        assert [s.id for s in top.descendants] == [s.id for s in chain[1:]]


async def test_jobs_tolerate_missing_subjects(container: Container, make_actor: MakeActor) -> None:
    for kind, payload in (
        ("notify_mentions", {"status_id": 1}),
        ("notify_favourite", {"favourite_id": 1}),
        ("notify_reblog", {"status_id": 1}),
        ("notify_status_update", {"status_id": 1}),
    ):
        handler = get_handler(kind)
        assert handler is not None, kind
        async with unit_of_work(container.sessions) as session:
            await handler(session, payload)
    async with unit_of_work(container.sessions, write=False) as session:
        assert await session.scalar(select(func.count()).select_from(Notification)) == 0


async def test_mention_notification_is_made_once(container: Container, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    bob = await make_actor("bob")
    status = await _post(container, alice.id, "@bob hello")
    handler = get_handler("notify_mentions")
    assert handler is not None
    for _ in range(2):
        async with unit_of_work(container.sessions) as session:
            await handler(session, {"status_id": status.id})
    async with unit_of_work(container.sessions, write=False) as session:
        rows = (await session.execute(select(Notification.account_id, Notification.type))).all()
        assert rows == [(int(bob.id), "mention")]
