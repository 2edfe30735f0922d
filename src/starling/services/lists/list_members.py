"""The accounts in a list, paged by when they were added."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.paging import Page
from starling.models import Account
from starling.repositories import lists
from starling.services.lists.own_list import load_own_list


async def list_members(
    session: AsyncSession, owner: Account, list_id: int, page: Page | None
) -> list[tuple[int, Account]]:
    """(membership id, account) pairs, newest member first; every member at once when ``page`` is None."""
    the_list = await load_own_list(session, owner, list_id)
    return await lists.members_page(session, the_list.id, page)
