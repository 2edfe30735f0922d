"""After a follow is established: copy the followed account's recent statuses into the follower's feed."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from starling.models import Account, Follow
from starling.repositories import timelines
from starling.repositories.relationships import blocked_either_way, mute_of


async def merge_account_into_home(session: AsyncSession, account_id: int, target_id: int) -> None:
    """Does nothing when the follow is gone again, or the two block each other, or the target is muted."""
    account = await session.get(Account, account_id)
    target = await session.get(Account, target_id)
    if account is None or target is None or account.domain is not None or target.suspended_at is not None:
        return
    follow = (
        await session.execute(
            select(Follow).where(Follow.account_id == account_id, Follow.target_account_id == target_id)
        )
    ).scalar_one_or_none()
    if follow is None:
        return
    if await blocked_either_way(session, account_id, target_id) or await mute_of(session, account_id, target_id):
        return
    await timelines.merge_account(session, account_id, target_id, follow.show_reblogs)
    await timelines.trim_feeds(session, select(Account.id).where(Account.id == account_id))
