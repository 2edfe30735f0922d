"""One's own uploads: showing one (``GET /api/v1/media/:id``), changing its alt text and focal point
(``PUT``), and deleting one that no status uses (``DELETE``)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.errors import NotFound, Unprocessable
from starling.models import MediaAttachment
from starling.repositories import media as repo
from starling.services.media.cleanup import forget_media
from starling.services.media.rules import check_description, parse_focus

DESCRIPTION_LIMIT = 1500


async def show_media(session: AsyncSession, account_id: int, media_id: int) -> MediaAttachment:
    media = await repo.own_media(session, account_id, media_id)
    if media is None:
        raise NotFound()
    return media


async def update_media(
    session: AsyncSession, account_id: int, media_id: int, *, description: str | None = None,
    focus: str | None = None, description_limit: int = DESCRIPTION_LIMIT,
) -> MediaAttachment:
    """Alt text and focus of an upload not yet attached (attached ones change through a status edit)."""
    media = await repo.own_media(session, account_id, media_id)
    if media is None or media.status_id is not None:
        raise NotFound()
    description = check_description(description, description_limit)
    point = parse_focus(focus)
    if description is not None:
        media.description = description
    if point is not None:
        media.focus_x, media.focus_y = point
    await session.flush()
    return media


async def delete_media(session: AsyncSession, account_id: int, media_id: int) -> None:
    media = await repo.own_media(session, account_id, media_id)
    if media is None:
        raise NotFound()
    if media.status_id is not None:
        raise Unprocessable("Media attachment is currently used by a status")
    forget_media(session, [media])
    await repo.delete_media_rows(session, [media.id])
