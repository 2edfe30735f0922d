"""Queries about media attachments that the media pipeline needs (status-side ones live in status_queries)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from starling.models import MediaAttachment


async def get_media(session: AsyncSession, media_id: int, *, fresh: bool = False) -> MediaAttachment | None:
    """One attachment; ``fresh`` reloads it from the database even if the session holds it."""
    return await session.get(MediaAttachment, media_id, populate_existing=fresh)


async def own_media(session: AsyncSession, account_id: int, media_id: int) -> MediaAttachment | None:
    media = await session.get(MediaAttachment, media_id)
    return media if media is not None and media.account_id == account_id else None


async def media_of_status(session: AsyncSession, status_id: int) -> list[MediaAttachment]:
    rows = await session.execute(select(MediaAttachment).where(MediaAttachment.status_id == status_id))
    return list(rows.scalars())


async def delete_media_rows(session: AsyncSession, media_ids: list[int]) -> None:
    if media_ids:
        await session.execute(
            delete(MediaAttachment).where(MediaAttachment.id.in_(media_ids)).execution_options(
                synchronize_session=False
            )
        )


async def release_media_of_status(session: AsyncSession, status_id: int, at: datetime) -> None:
    await session.execute(
        update(MediaAttachment)
        .where(MediaAttachment.status_id == status_id)
        .values(status_id=None, detached_at=at)
        .execution_options(synchronize_session=False)
    )


async def stale_unattached(session: AsyncSession, cutoff: datetime, limit: int) -> list[MediaAttachment]:
    """Unattached media uploaded (and, if a status let go of them, released) before ``cutoff``."""
    rows = await session.execute(
        select(MediaAttachment)
        .where(
            MediaAttachment.status_id.is_(None),
            MediaAttachment.created_at < cutoff,
            or_(MediaAttachment.detached_at.is_(None), MediaAttachment.detached_at < cutoff),
        )
        .order_by(MediaAttachment.id)
        .limit(limit)
    )
    return list(rows.scalars())
