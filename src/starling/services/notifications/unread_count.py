"""How many notifications arrived after the notifications read marker."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from starling.models import Account
from starling.repositories import notifications
from starling.repositories.notifications import NotificationFilter

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


async def unread_count(
    session: AsyncSession, viewer: Account, filters: NotificationFilter, limit: int = DEFAULT_LIMIT
) -> int:
    """Counts at most ``limit`` (clients show "99+"); without a marker every notification is unread."""
    marker = await notifications.markers(session, viewer.id, ["notifications"])
    after = marker[0].last_read_id if marker else None
    return await notifications.count_after(session, viewer.id, after, max(1, min(limit, MAX_LIMIT)), filters)
