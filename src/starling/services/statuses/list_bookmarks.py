"""The account's bookmarks, newest bookmark first, paged by bookmark id."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.paging import Page
from starling.models import Account, Status
from starling.repositories import status_queries as q


async def list_bookmarks(session: AsyncSession, account: Account, page: Page) -> list[tuple[Status, int]]:
    return await q.bookmarks_of(session, account.id, page)
