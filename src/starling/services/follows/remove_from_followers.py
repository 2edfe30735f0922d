"""Removing an account from one's followers (a "soft block")."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from starling.models import Account
from starling.services.follows.graph_edits import end_follow, load_target


async def remove_from_followers(session: AsyncSession, account: Account, follower_id: int) -> Account:
    """Idempotent. Returns the former follower."""
    follower = await load_target(session, follower_id)
    await end_follow(session, follower.id, account.id)
    return follower
