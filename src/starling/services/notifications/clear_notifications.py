"""Clearing all of one's notifications."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from starling.models import Account
from starling.repositories import notifications


async def clear_notifications(session: AsyncSession, viewer: Account) -> None:
    await notifications.delete_all(session, viewer.id)
