"""Dismissing one notification."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.errors import NotFound
from starling.models import Account
from starling.repositories import notifications


async def dismiss_notification(session: AsyncSession, viewer: Account, notification_id: int) -> None:
    """Someone else's notification is simply not found."""
    if not await notifications.delete_one(session, viewer.id, notification_id):
        raise NotFound()
