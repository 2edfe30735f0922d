"""Deleting a list (its members go with it)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from starling.models import Account
from starling.repositories import lists
from starling.services.lists.own_list import load_own_list


async def delete_list(session: AsyncSession, owner: Account, list_id: int) -> None:
    the_list = await load_own_list(session, owner, list_id)
    await lists.delete_list(session, the_list.id)
