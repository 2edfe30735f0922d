"""An admin takes an announcement down (its event is over or cancelled)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.errors import NotFound
from starling.models import Announcement
from starling.models.base import utcnow
from starling.repositories import maintenance as repo


async def end_announcement(session: AsyncSession, announcement_id: int) -> Announcement:
    """Unpublishes it; ending one already ended changes nothing."""
    announcement = await repo.get_announcement(session, announcement_id)
    if announcement is None:
        raise NotFound(f"No announcement {announcement_id}")
    if announcement.published:
        announcement.published = False
        announcement.updated_at = utcnow()
        await session.flush()
    return announcement
