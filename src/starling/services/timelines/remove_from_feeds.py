"""After a status is deleted: take it (and reblogs of it) out of every home feed."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from starling.repositories import timelines


async def remove_status_from_feeds(session: AsyncSession, status_id: int) -> None:
    await timelines.remove_status(session, status_id)
