"""The announcements people see now (published and not over), each marked read when the viewer
dismissed it; and every announcement, for the admin."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from starling.models import Announcement
from starling.models.base import utcnow
from starling.repositories import maintenance as repo


@dataclass
class ShownAnnouncement:
    announcement: Announcement
    read: bool


async def current_announcements(
    session: AsyncSession, account_id: int | None, *, now: datetime | None = None
) -> list[ShownAnnouncement]:
    rows = await repo.current_announcements(session, now or utcnow())
    read = await repo.dismissed_ids(session, account_id, (a.id for a in rows)) if account_id is not None else set()
    return [ShownAnnouncement(a, a.id in read) for a in rows]


async def all_announcements(session: AsyncSession) -> list[Announcement]:
    """Newest first, ended ones included."""
    return await repo.all_announcements(session)
