"""Unmuting an account: its posts come back to the home feed if it is followed."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from starling.models import Account, Mute
from starling.repositories.relationships import is_following
from starling.services.follows.graph_edits import load_target, merge_into_home
from starling.streaming.emit import graph_changed


async def unmute_account(session: AsyncSession, account: Account, target_id: int) -> Account:
    """Idempotent. Returns the target."""
    target = await load_target(session, target_id)
    result = await session.execute(
        delete(Mute).where(Mute.account_id == account.id, Mute.target_account_id == target.id),
        execution_options={"synchronize_session": "fetch"},
    )
    if getattr(result, "rowcount", 0) and await is_following(session, account.id, target.id):
        merge_into_home(session, account.id, target.id)
    graph_changed(session, account.id)
    return target
