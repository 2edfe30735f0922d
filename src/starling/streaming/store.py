"""Storage access of the streaming package: the event log and a viewer's relationships."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from starling.models import AccessToken, Account, Block, Follow, List, ListAccount, Mute, StreamEvent, Tag, TagFollow
from starling.streaming.audience import EventView, Graph


def view(row: StreamEvent) -> EventView:
    return EventView(id=row.id, kind=row.kind, account_id=row.account_id, object_id=row.object_id,
                     visibility=row.visibility, audience=dict(row.audience or {}))


async def last_event_id(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.max(StreamEvent.id))) or 0)


async def first_event_id(session: AsyncSession) -> int | None:
    value = await session.scalar(select(func.min(StreamEvent.id)))
    return int(value) if value is not None else None


async def events_after(session: AsyncSession, after: int, *, up_to: int | None = None,
                       limit: int = 500) -> list[EventView]:
    stmt = select(StreamEvent).where(StreamEvent.id > after).order_by(StreamEvent.id).limit(limit)
    if up_to is not None:
        stmt = stmt.where(StreamEvent.id <= up_to)
    return [view(row) for row in (await session.execute(stmt)).scalars()]


async def prune_events(session: AsyncSession, older_than: datetime) -> int:
    """Delete events older than the retention window; the newest row always stays (it keeps the id counter
    meaningful for a hub that starts on an empty log)."""
    newest = await last_event_id(session)
    result: Any = await session.execute(
        delete(StreamEvent).where(StreamEvent.created_at < older_than, StreamEvent.id < newest)
    )
    return int(result.rowcount or 0)


async def load_graph(session: AsyncSession, account_id: int, list_ids: set[int]) -> Graph:
    """One query per kind of relationship; the result is shared by all of the viewer's connections."""
    follows = (await session.execute(
        select(Follow.target_account_id, Follow.show_reblogs).where(Follow.account_id == account_id)
    )).all()
    blocks = (await session.execute(
        select(Block.account_id, Block.target_account_id)
        .where(or_(Block.account_id == account_id, Block.target_account_id == account_id))
    )).all()
    mutes = (await session.execute(
        select(Mute.target_account_id, Mute.expires_at).where(Mute.account_id == account_id)
    )).all()
    tags = (await session.execute(
        select(Tag.name).join(TagFollow, TagFollow.tag_id == Tag.id).where(TagFollow.account_id == account_id)
    )).scalars()
    exclusive = (await session.execute(
        select(ListAccount.account_id).join(List, List.id == ListAccount.list_id)
        .where(List.account_id == account_id, List.exclusive.is_(True))
    )).scalars()
    lists: dict[int, frozenset[int]] = {}
    if list_ids:
        members: dict[int, set[int]] = {i: set() for i in list_ids}
        for list_id, member in (await session.execute(
            select(ListAccount.list_id, ListAccount.account_id).join(List, List.id == ListAccount.list_id)
            .where(List.account_id == account_id, ListAccount.list_id.in_(list(list_ids)))
        )).all():
            members[list_id].add(member)
        lists = {k: frozenset(v) for k, v in members.items()}
    return Graph(
        account_id=account_id,
        following=_set(t for t, _ in follows),
        no_reblogs=_set(t for t, show in follows if not show),
        blocked=_set(b if a == account_id else a for a, b in blocks),
        mutes={t: until for t, until in mutes} or _NO_MUTES,
        followed_tags=_set(name.lower() for name in tags),
        exclusive=_set(exclusive),
        lists=lists or _NO_LISTS,
    )


# Most viewers have no blocks, mutes, followed tags or lists: they all share these empty values (a graph
# lives as long as its viewer's connections, and each empty set would cost a few hundred bytes).
_EMPTY: frozenset[Any] = frozenset()
_NO_MUTES: dict[int, datetime | None] = {}
_NO_LISTS: dict[int, frozenset[int]] = {}


def _set(values: Iterable[Any]) -> frozenset[Any]:
    return frozenset(values) or _EMPTY


async def owns_list(session: AsyncSession, account_id: int, list_id: int) -> bool:
    owner = await session.scalar(select(List.account_id).where(List.id == list_id))
    return owner == account_id


async def still_valid(session: AsyncSession, token_id: int, account_id: int | None) -> bool:
    """The token is not revoked and its account not suspended (checked when a stream resumes)."""
    revoked = await session.scalar(select(AccessToken.revoked_at).where(AccessToken.id == token_id))
    if revoked is not None:
        return False
    if account_id is None:
        return True
    return await session.scalar(select(Account.suspended_at).where(Account.id == account_id)) is None
