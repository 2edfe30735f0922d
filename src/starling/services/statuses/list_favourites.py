"""The account's favourites, newest favourite first, paged by favourite id."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.paging import Page
from starling.models import Account, Status
from starling.repositories import status_queries as q


async def list_favourites(session: AsyncSession, account: Account, page: Page) -> list[tuple[Status, int]]:
    return await q.favourites_of(session, account.id, page)
