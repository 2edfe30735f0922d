"""Notifications that follow a status action (run from jobs; each tolerates its subject being gone)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from starling.models import Account, Favourite, Status
from starling.repositories import status_queries as q
from starling.repositories.statuses import get_status
from starling.repositories.visibility import can_see
from starling.services.notifications.notify import notify


async def notify_mentions(session: AsyncSession, status_id: int) -> None:
    """Each mentioned local account that may see the status is told (once per status)."""
    status = await get_status(session, status_id)
    if status is None:
        return
    for account_id in await q.mentioned_account_ids(session, status.id):
        if await can_see(session, status, account_id):
            await notify(
                session, account_id=account_id, from_account_id=status.account_id, type="mention",
                activity_id=status.id, status_id=status.id,
            )


async def notify_favourite(session: AsyncSession, favourite_id: int) -> None:
    favourite = await session.get(Favourite, favourite_id)
    if favourite is None:
        return
    status = await get_status(session, favourite.status_id)
    if status is None:
        return
    await notify(
        session, account_id=status.account_id, from_account_id=favourite.account_id, type="favourite",
        activity_id=favourite.id, status_id=status.id,
    )


async def notify_reblog(session: AsyncSession, reblog_id: int) -> None:
    reblog = await get_status(session, reblog_id)
    if reblog is None or reblog.reblog_of_id is None:
        return
    original = await get_status(session, reblog.reblog_of_id)
    if original is None:
        return
    await notify(
        session, account_id=original.account_id, from_account_id=reblog.account_id, type="reblog",
        activity_id=reblog.id, status_id=original.id,
    )


async def notify_status_update(session: AsyncSession, status_id: int) -> None:
    """Local accounts that reblogged an edited status are told it changed."""
    status = await get_status(session, status_id)
    if status is None:
        return
    rebloggers = (
        await session.execute(
            select(Status.account_id)
            .join(Account, Account.id == Status.account_id)
            .where(Status.reblog_of_id == status.id, Account.domain.is_(None))
            .distinct()
        )
    ).scalars()
    for account_id in list(rebloggers):
        if await can_see(session, status, account_id):
            await notify(
                session, account_id=account_id, from_account_id=status.account_id, type="update",
                activity_id=status.id, status_id=status.id,
            )
