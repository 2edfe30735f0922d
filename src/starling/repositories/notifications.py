"""Notifications as their recipient may browse them, and read markers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, delete, exists, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from starling.domain.paging import Page
from starling.models import Account, Block, Favourite, FollowRequest, Marker, Notification, Status
from starling.repositories.paging import newest_first, paginate
from starling.repositories.visibility import author_not_suspended, visible_to


@dataclass(frozen=True)
class NotificationFilter:
    types: Sequence[str] = ()
    exclude_types: Sequence[str] = ()
    from_account_id: int | None = None


@dataclass
class NotificationRow:
    notification: Notification
    account: Account
    status: Status | None


def _browsable(account_id: int, filters: NotificationFilter) -> Any:
    """Notifications still worth showing: the sender is neither suspended nor blocked either way,
    the status (if any) still exists and may be seen, and what caused it was not undone."""
    sender = aliased(Account)
    status = aliased(Status)
    stmt = (
        select(Notification, sender, status)
        .join(sender, sender.id == Notification.from_account_id)
        .outerjoin(status, status.id == Notification.status_id)
        .where(
            Notification.account_id == account_id,
            sender.suspended_at.is_(None),
            ~exists().where(
                or_(
                    and_(Block.account_id == account_id, Block.target_account_id == Notification.from_account_id),
                    and_(Block.account_id == Notification.from_account_id, Block.target_account_id == account_id),
                )
            ),
            or_(
                Notification.status_id.is_(None),
                and_(status.id.is_not(None), visible_to(account_id, status), author_not_suspended(status)),
            ),
            or_(Notification.type != "reblog", exists().where(Status.id == Notification.activity_id)),
            or_(Notification.type != "favourite", exists().where(Favourite.id == Notification.activity_id)),
            or_(
                Notification.type != "follow_request",
                exists().where(FollowRequest.id == Notification.activity_id),
            ),
        )
    )
    if filters.types:
        stmt = stmt.where(Notification.type.in_(list(filters.types)))
    if filters.exclude_types:
        stmt = stmt.where(Notification.type.not_in(list(filters.exclude_types)))
    if filters.from_account_id is not None:
        stmt = stmt.where(Notification.from_account_id == filters.from_account_id)
    return stmt


def _rows(result: Any) -> list[NotificationRow]:
    return [NotificationRow(n, a, s) for n, a, s in result.all()]


async def list_page(
    session: AsyncSession, account_id: int, page: Page, filters: NotificationFilter
) -> list[NotificationRow]:
    result = await session.execute(paginate(_browsable(account_id, filters), Notification.id, page))
    return newest_first(_rows(result), page)


async def find(session: AsyncSession, account_id: int, notification_id: int) -> NotificationRow | None:
    stmt = _browsable(account_id, NotificationFilter()).where(Notification.id == notification_id)
    rows = _rows(await session.execute(stmt))
    return rows[0] if rows else None


async def count_after(
    session: AsyncSession, account_id: int, after_id: int | None, limit: int, filters: NotificationFilter
) -> int:
    stmt = _browsable(account_id, filters).with_only_columns(Notification.id)
    if after_id is not None:
        stmt = stmt.where(Notification.id > after_id)
    counted = await session.scalar(select(func.count()).select_from(stmt.limit(limit).subquery()))
    return int(counted or 0)


async def delete_one(session: AsyncSession, account_id: int, notification_id: int) -> bool:
    result: Any = await session.execute(
        delete(Notification).where(Notification.account_id == account_id, Notification.id == notification_id)
    )
    return bool(result.rowcount)


async def delete_all(session: AsyncSession, account_id: int) -> None:
    await session.execute(delete(Notification).where(Notification.account_id == account_id))


# ---- markers ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MarkerRow:
    timeline: str
    last_read_id: int
    version: int
    updated_at: datetime


async def markers(session: AsyncSession, account_id: int, timelines: Sequence[str]) -> list[MarkerRow]:
    if not timelines:
        return []
    result = await session.execute(
        select(Marker.timeline, Marker.last_read_id, Marker.version, Marker.updated_at)
        .where(Marker.account_id == account_id, Marker.timeline.in_(list(timelines)))
        .order_by(Marker.timeline)
    )
    return [MarkerRow(*row) for row in result.all()]


async def save_marker(
    session: AsyncSession, account_id: int, timeline: str, last_read_id: int, now: datetime
) -> MarkerRow:
    """Create or move a marker in one statement; its version grows only when the position changes."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(Marker).values(
        account_id=account_id, timeline=timeline, last_read_id=last_read_id, version=0, updated_at=now
    )
    moved = Marker.last_read_id != stmt.excluded.last_read_id
    stmt = stmt.on_conflict_do_update(
        index_elements=[Marker.account_id, Marker.timeline],
        set_={
            "last_read_id": stmt.excluded.last_read_id,
            "version": case((moved, Marker.version + 1), else_=Marker.version),
            "updated_at": case((moved, stmt.excluded.updated_at), else_=Marker.updated_at),
        },
    ).returning(Marker.timeline, Marker.last_read_id, Marker.version, Marker.updated_at)
    row = (await session.execute(stmt)).one()
    return MarkerRow(*row)
