"""Reading a list's timeline: its members' statuses, read from the statuses themselves.

No feed is materialised per list: the members are few (only accounts the owner follows), and the
query walks each member's statuses newest first by ``(account_id, id)``.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.paging import Page
from starling.models import Account, Status
from starling.repositories import lists
from starling.services.lists.own_list import load_own_list


async def list_timeline(session: AsyncSession, owner: Account, list_id: int, page: Page) -> list[Status]:
    the_list = await load_own_list(session, owner, list_id)
    return await lists.list_timeline(session, the_list, page)
