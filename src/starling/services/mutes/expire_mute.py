"""Ending a timed mute once its time is up."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from starling.models import Mute
from starling.models.base import utcnow
from starling.repositories.relationships import is_following
from starling.services.follows.graph_edits import merge_into_home


async def expire_mute(session: AsyncSession, mute_id: int) -> None:
    """Delete the mute if it has expired (it may have been lifted or renewed meanwhile) and bring
    the account's posts back to the home feed if it is followed."""
    mute = await session.get(Mute, mute_id)
    if mute is None or mute.expires_at is None or mute.expires_at > utcnow():
        return
    await session.execute(
        delete(Mute).where(Mute.id == mute.id), execution_options={"synchronize_session": "fetch"}
    )
    if await is_following(session, mute.account_id, mute.target_account_id):
        merge_into_home(session, mute.account_id, mute.target_account_id)
