"""Read markers: where the viewer stopped reading the home timeline and the notifications."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from starling.models import Account
from starling.models.base import utcnow
from starling.repositories import notifications
from starling.repositories.notifications import MarkerRow

TIMELINES = ("home", "notifications")


async def read_markers(session: AsyncSession, viewer: Account, timelines: Sequence[str]) -> list[MarkerRow]:
    """Markers of the named timelines that exist; unknown timeline names are ignored."""
    return await notifications.markers(session, viewer.id, [t for t in TIMELINES if t in timelines])


async def save_markers(session: AsyncSession, viewer: Account, positions: Mapping[str, int]) -> list[MarkerRow]:
    """Move the given markers (``{"home": last_read_id, ...}``); each version grows when it moves."""
    now = utcnow()
    return [
        await notifications.save_marker(session, viewer.id, timeline, positions[timeline], now)
        for timeline in TIMELINES
        if timeline in positions
    ]
