"""Edits of the follow graph shared by several actions: every change keeps the counters and the
home feeds in step, and tolerates a concurrent request having made the same change first."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.errors import NotFound
from starling.domain.ids import new_id
from starling.jobs.queue import enqueue
from starling.models import Account, Block, Follow, FollowRequest, Mute
from starling.models.base import utcnow
from starling.repositories.graph import (
    adjust_follow_counters,
    delete_follow,
    delete_follow_request,
    get_follow,
    get_follow_request,
)
from starling.streaming.emit import graph_changed


async def load_target(session: AsyncSession, account_id: int) -> Account:
    """The other side of a relationship: unknown and suspended accounts are not found."""
    account = await session.get(Account, account_id)
    if account is None or account.suspended_at is not None:
        raise NotFound()
    return account


async def insert_once(session: AsyncSession, row: Follow | FollowRequest | Block | Mute) -> bool:
    """Insert ``row``; False when the same edge was inserted concurrently (unique key)."""
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:
        return False
    return True


def merge_into_home(session: AsyncSession, account_id: int, target_id: int) -> None:
    enqueue(session, "merge_account_into_home", {"account_id": account_id, "target_account_id": target_id})


def unmerge_from_home(session: AsyncSession, account_id: int, target_id: int) -> None:
    enqueue(session, "unmerge_account_from_home", {"account_id": account_id, "target_account_id": target_id})


async def establish_follow(
    session: AsyncSession, follower_id: int, target_id: int, *, show_reblogs: bool, notify: bool
) -> Follow | None:
    """Create the follow with counters and the home-feed merge. None when it already existed."""
    follow = Follow(
        id=new_id(), account_id=follower_id, target_account_id=target_id,
        show_reblogs=show_reblogs, notify=notify, created_at=utcnow(),
    )
    if not await insert_once(session, follow):
        return None
    await adjust_follow_counters(session, follower_id, target_id, +1)
    merge_into_home(session, follower_id, target_id)
    graph_changed(session, follower_id, target_id)
    return follow


async def end_follow(session: AsyncSession, follower_id: int, target_id: int, *, unmerge: bool = True) -> bool:
    """Remove the follow if there is one. True when this call removed it."""
    follow = await get_follow(session, follower_id, target_id)
    if follow is None or not await delete_follow(session, follow):
        return False
    await adjust_follow_counters(session, follower_id, target_id, -1)
    graph_changed(session, follower_id, target_id)
    if unmerge:
        unmerge_from_home(session, follower_id, target_id)
    return True


async def withdraw_request(session: AsyncSession, follower_id: int, target_id: int) -> bool:
    """Remove a pending follow request if there is one. True when this call removed it."""
    request = await get_follow_request(session, follower_id, target_id)
    if request is None:
        return False
    return await delete_follow_request(session, request)
