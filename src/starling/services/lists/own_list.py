"""Loading a list on behalf of its owner: anybody else's list is not found, never forbidden."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.errors import NotFound
from starling.models import Account, List
from starling.repositories import lists


async def load_own_list(session: AsyncSession, owner: Account, list_id: int) -> List:
    found = await lists.get_own_list(session, owner.id, list_id)
    if found is None:
        raise NotFound()
    return found
