"""Who favourited or reblogged a status, newest first, with the row ids that page the list."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.paging import Page
from starling.models import Account
from starling.repositories import status_queries as q
from starling.services.statuses.lookup import visible_original


async def favourited_by(
    session: AsyncSession, status_id: int, viewer_id: int | None, page: Page
) -> list[tuple[Account, int]]:
    status = await visible_original(session, status_id, viewer_id)
    return await q.favourited_by(session, status.id, page)


async def reblogged_by(
    session: AsyncSession, status_id: int, viewer_id: int | None, page: Page
) -> list[tuple[Account, int]]:
    status = await visible_original(session, status_id, viewer_id)
    return await q.reblogged_by(session, status.id, page)
