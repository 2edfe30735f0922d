"""Changing a list's title, replies policy or exclusivity; what is not given stays as it was."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from starling.models import Account, List
from starling.models.base import utcnow
from starling.services.lists.own_list import load_own_list
from starling.services.lists.rules import checked_replies_policy, checked_title


async def update_list(
    session: AsyncSession, owner: Account, list_id: int, *, title: str | None = None,
    replies_policy: str | None = None, exclusive: bool | None = None,
) -> List:
    the_list = await load_own_list(session, owner, list_id)
    new_title = checked_title(title) if title is not None else None
    new_policy = checked_replies_policy(replies_policy) if replies_policy is not None else None
    if new_title is not None:
        the_list.title = new_title
    if new_policy is not None:
        the_list.replies_policy = new_policy
    if exclusive is not None:
        the_list.exclusive = exclusive
    the_list.updated_at = utcnow()
    await session.flush()
    return the_list
