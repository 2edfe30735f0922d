"""The accounts one has blocked."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.paging import Page
from starling.models import Account
from starling.repositories.graph import Listed, blocks_page


async def list_blocks(session: AsyncSession, account: Account, page: Page) -> list[Listed]:
    return await blocks_page(session, account.id, page)
