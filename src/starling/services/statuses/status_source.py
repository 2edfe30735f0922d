"""The plain text behind a status, for editing it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from starling.models import Status
from starling.services.statuses.lookup import visible_status


async def status_source(session: AsyncSession, status_id: int, viewer_id: int) -> Status:
    return await visible_status(session, status_id, viewer_id)
