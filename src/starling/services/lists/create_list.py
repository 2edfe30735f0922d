"""Creating a list."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.errors import Unprocessable
from starling.domain.ids import new_id
from starling.models import Account, List
from starling.models.base import utcnow
from starling.repositories import lists
from starling.services.lists.rules import (
    DEFAULT_REPLIES_POLICY,
    MAX_LISTS,
    checked_replies_policy,
    checked_title,
)


async def create_list(
    session: AsyncSession, owner: Account, *, title: str | None, replies_policy: str | None = None,
    exclusive: bool | None = None,
) -> List:
    clean_title = checked_title(title)
    policy = checked_replies_policy(replies_policy or DEFAULT_REPLIES_POLICY)
    if await lists.count_lists(session, owner.id) >= MAX_LISTS:
        raise Unprocessable("Validation failed: You have reached the maximum number of lists")
    now = utcnow()
    created = List(
        id=new_id(), account_id=owner.id, title=clean_title, replies_policy=policy, exclusive=bool(exclusive),
        created_at=now, updated_at=now,
    )
    session.add(created)
    await session.flush()
    return created
