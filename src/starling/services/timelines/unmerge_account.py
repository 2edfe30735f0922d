"""After an unfollow, block or mute: take the target's statuses and reblogs out of the account's feed."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from starling.repositories import timelines


async def unmerge_account_from_home(session: AsyncSession, account_id: int, target_id: int) -> None:
    await timelines.unmerge_account(session, account_id, target_id)
