"""Bookmarking and unbookmarking (private to the account; idempotent)."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.ids import new_id
from starling.models import Account, Bookmark, Status
from starling.models.base import utcnow
from starling.repositories import status_queries as q
from starling.services.statuses.lookup import visible_original


async def bookmark_status(session: AsyncSession, account: Account, status_id: int) -> Status:
    status = await visible_original(session, status_id, account.id)
    await q.insert_ignoring_conflict(
        session, Bookmark,
        {"id": new_id(), "account_id": account.id, "status_id": status.id, "created_at": utcnow()},
        ["account_id", "status_id"],
    )
    return status


async def unbookmark_status(session: AsyncSession, account: Account, status_id: int) -> Status:
    status = await visible_original(session, status_id, account.id)
    await session.execute(delete(Bookmark).where(Bookmark.account_id == account.id, Bookmark.status_id == status.id))
    return status
