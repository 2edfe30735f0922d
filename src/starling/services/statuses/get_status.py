"""Reading statuses: one, or several by id."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from starling.models import Status
from starling.repositories import status_queries as q
from starling.services.statuses.lookup import visible_status

MAX_IDS = 40


async def get_status(session: AsyncSession, status_id: int, viewer_id: int | None) -> Status:
    return await visible_status(session, status_id, viewer_id)


async def get_statuses(session: AsyncSession, status_ids: list[int], viewer_id: int | None) -> list[Status]:
    """Those of ``status_ids`` the viewer may see, in the order asked; the others are left out."""
    return await q.visible_statuses_by_ids(session, list(dict.fromkeys(status_ids))[:MAX_IDS], viewer_id)

