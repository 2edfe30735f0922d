"""Reading one's lists: all of them, one by id, or those that hold a given account."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from starling.models import Account, List
from starling.repositories import lists
from starling.services.accounts.show_accounts import show_account
from starling.services.lists.own_list import load_own_list


async def list_lists(session: AsyncSession, owner: Account) -> list[List]:
    return await lists.lists_of(session, owner.id)


async def show_list(session: AsyncSession, owner: Account, list_id: int) -> List:
    return await load_own_list(session, owner, list_id)


async def lists_with_account(session: AsyncSession, owner: Account, account_id: int) -> list[List]:
    """The owner's lists that hold the account; an unknown or suspended account is not found."""
    account = await show_account(session, account_id)
    return await lists.lists_containing(session, owner.id, account.id)
