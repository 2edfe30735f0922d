"""Pinning one's own statuses to the profile (at most five; not reblogs, not direct ones)."""

from __future__ import annotations

from sqlalchemy import delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.errors import Unprocessable
from starling.domain.ids import new_id
from starling.models import Account, Pin, Status
from starling.models.base import utcnow
from starling.repositories import status_queries as q
from starling.services.statuses.lookup import visible_status

MAX_PINS = 5


async def pin_status(session: AsyncSession, account: Account, status_id: int) -> Status:
    status = await visible_status(session, status_id, account.id)
    if status.reblog_of_id is not None:
        raise Unprocessable("Validation failed: A boost cannot be pinned")
    if status.account_id != account.id:
        raise Unprocessable("Validation failed: Someone else's post cannot be pinned")
    if status.visibility == "direct":
        raise Unprocessable("Validation failed: Posts that are only visible to mentioned users cannot be pinned")
    await q.lock_row(session, Account, account.id)
    pinned = await session.scalar(select(exists().where(Pin.account_id == account.id, Pin.status_id == status.id)))
    if pinned:
        return status
    if await q.pin_count(session, account.id) >= MAX_PINS:
        raise Unprocessable("Validation failed: You have already pinned the maximum number of posts")
    await q.insert_ignoring_conflict(
        session, Pin,
        {"id": new_id(), "account_id": account.id, "status_id": status.id, "created_at": utcnow()},
        ["account_id", "status_id"],
    )
    return status


async def unpin_status(session: AsyncSession, account: Account, status_id: int) -> Status:
    status = await visible_status(session, status_id, account.id)
    await session.execute(delete(Pin).where(Pin.account_id == account.id, Pin.status_id == status.id))
    return status
