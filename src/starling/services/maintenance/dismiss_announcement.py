"""Someone marks an announcement read, so their apps stop showing it as new."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.errors import NotFound
from starling.models import Account
from starling.repositories import maintenance as repo


async def dismiss_announcement(session: AsyncSession, account: Account, announcement_id: int) -> None:
    announcement = await repo.get_announcement(session, announcement_id)
    if announcement is None or not announcement.published:
        raise NotFound()
    await repo.add_dismissal(session, account.id, announcement.id)
