"""Finding the status an action is about, with the visibility rule applied (never a leak: 404)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.errors import NotFound
from starling.models import Status
from starling.repositories.statuses import get_status
from starling.repositories.visibility import can_see


async def visible_status(session: AsyncSession, status_id: int, viewer_id: int | None) -> Status:
    """The status if the viewer may see it (a reblog also needs its original visible); else 404."""
    status = await get_status(session, status_id)
    if status is None or not await can_see(session, status, viewer_id):
        raise NotFound()
    if status.reblog_of_id is not None:
        original = await get_status(session, status.reblog_of_id)
        if original is None or not await can_see(session, original, viewer_id):
            raise NotFound()
    return status


async def visible_original(session: AsyncSession, status_id: int, viewer_id: int | None) -> Status:
    """Like :func:`visible_status`, but a reblog's id stands for the status it reblogs."""
    status = await visible_status(session, status_id, viewer_id)
    if status.reblog_of_id is None:
        return status
    original = await get_status(session, status.reblog_of_id)
    if original is None:
        raise NotFound()
    return original


async def own_status(session: AsyncSession, status_id: int, account_id: int) -> Status:
    """One of the account's own statuses; anybody else's is simply not found, as in Mastodon."""
    status = await get_status(session, status_id)
    if status is None or status.account_id != account_id:
        raise NotFound()
    return status
