"""Taking accounts out of a list; accounts that are not in it are ignored."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from starling.models import Account
from starling.repositories import lists
from starling.services.lists.own_list import load_own_list
from starling.streaming.emit import graph_changed


async def remove_list_accounts(session: AsyncSession, owner: Account, list_id: int, account_ids: list[int]) -> None:
    the_list = await load_own_list(session, owner, list_id)
    await lists.remove_members(session, the_list.id, list(dict.fromkeys(account_ids)))
    graph_changed(session, owner.id)
