"""Muting a conversation. Not stored yet: the status is returned as it is, with ``muted`` false."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from starling.models import Account, Status
from starling.services.statuses.lookup import visible_status


async def mute_conversation(session: AsyncSession, account: Account, status_id: int) -> Status:
    return await visible_status(session, status_id, account.id)


async def unmute_conversation(session: AsyncSession, account: Account, status_id: int) -> Status:
    return await visible_status(session, status_id, account.id)
