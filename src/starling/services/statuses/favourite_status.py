"""Favouriting and unfavouriting; both are idempotent."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.ids import new_id
from starling.jobs.queue import enqueue
from starling.models import Account, Favourite, Status
from starling.models.base import utcnow
from starling.repositories import status_queries as q
from starling.services.statuses.lookup import visible_original


async def favourite_status(session: AsyncSession, account: Account, status_id: int) -> Status:
    status = await visible_original(session, status_id, account.id)
    favourite_id = new_id()
    created = await q.insert_ignoring_conflict(
        session, Favourite,
        {"id": favourite_id, "account_id": account.id, "status_id": status.id, "created_at": utcnow()},
        ["account_id", "status_id"],
    )
    if created:
        await q.add_to_counter(session, Status, status.id, "favourites_count", 1)
        enqueue(session, "notify_favourite", {"favourite_id": favourite_id})
    return status


async def unfavourite_status(session: AsyncSession, account: Account, status_id: int) -> Status:
    status = await visible_original(session, status_id, account.id)
    removed = (
        await session.execute(
            delete(Favourite)
            .where(Favourite.account_id == account.id, Favourite.status_id == status.id)
            .returning(Favourite.id)
        )
    ).first()
    if removed is not None:
        await q.add_to_counter(session, Status, status.id, "favourites_count", -1)
    return status
