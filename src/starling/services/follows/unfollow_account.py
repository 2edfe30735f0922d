"""Unfollowing an account, or withdrawing a pending follow request to it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from starling.models import Account
from starling.services.follows.graph_edits import end_follow, load_target, withdraw_request


async def unfollow_account(session: AsyncSession, account: Account, target_id: int) -> Account:
    """Idempotent: unfollowing an account not followed changes nothing. Returns the target."""
    target = await load_target(session, target_id)
    await end_follow(session, account.id, target.id)
    await withdraw_request(session, account.id, target.id)
    return target
