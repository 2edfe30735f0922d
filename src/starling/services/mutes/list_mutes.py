"""The accounts one has muted (expired mutes are left out)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.paging import Page
from starling.models import Account
from starling.repositories.graph import Listed, mutes_page


async def list_mutes(session: AsyncSession, account: Account, page: Page) -> list[Listed]:
    return await mutes_page(session, account.id, page)
