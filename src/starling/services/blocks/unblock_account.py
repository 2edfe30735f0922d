"""Unblocking an account (follows ended by the block stay ended)."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from starling.models import Account, Block
from starling.services.follows.graph_edits import load_target
from starling.streaming.emit import graph_changed


async def unblock_account(session: AsyncSession, account: Account, target_id: int) -> Account:
    """Idempotent. Returns the target."""
    target = await load_target(session, target_id)
    await session.execute(
        delete(Block).where(Block.account_id == account.id, Block.target_account_id == target.id),
        execution_options={"synchronize_session": "fetch"},
    )
    graph_changed(session, account.id, target.id)
    return target
