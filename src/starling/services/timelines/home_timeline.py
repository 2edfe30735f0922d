"""Reading the home timeline: the viewer's feed, filtered again at read time by the current rules."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.paging import Page
from starling.models import Account, Status
from starling.repositories import timelines


async def home_timeline(session: AsyncSession, viewer: Account, page: Page) -> list[Status]:
    """Feed entries are re-checked (visibility, mutes, suspensions) because they may be older than those."""
    return await timelines.home_timeline(session, viewer.id, page)
