"""Queries for announcements, their dismissals, and the activity the maintenance planner reads."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.ids import id_floor
from starling.models import AccessToken, ActivityHour, Announcement, AnnouncementDismissal, Status, User
from starling.models.base import utcnow

# --- announcements -----------------------------------------------------------------------------


async def get_announcement(session: AsyncSession, announcement_id: int) -> Announcement | None:
    return await session.get(Announcement, announcement_id)


async def current_announcements(session: AsyncSession, now: datetime) -> list[Announcement]:
    """Published and not yet over, in the order their events happen."""
    stmt = (
        select(Announcement)
        .where(Announcement.published.is_(True), or_(Announcement.ends_at.is_(None), Announcement.ends_at > now))
        .order_by(Announcement.published_at, Announcement.id)
    )
    rows = list((await session.execute(stmt)).scalars())
    rows.sort(key=lambda a: (a.starts_at or a.published_at or a.created_at, a.id))
    return rows


async def all_announcements(session: AsyncSession) -> list[Announcement]:
    stmt = select(Announcement).order_by(Announcement.id.desc())
    return list((await session.execute(stmt)).scalars())


async def dismissed_ids(session: AsyncSession, account_id: int, announcement_ids: Iterable[int]) -> set[int]:
    ids = list(announcement_ids)
    if not ids:
        return set()
    stmt = select(AnnouncementDismissal.announcement_id).where(
        AnnouncementDismissal.account_id == account_id, AnnouncementDismissal.announcement_id.in_(ids)
    )
    return set((await session.execute(stmt)).scalars())


async def add_dismissal(session: AsyncSession, account_id: int, announcement_id: int) -> None:
    """Idempotent: dismissing twice, even at the same moment, leaves one row."""
    if await session.get(AnnouncementDismissal, (account_id, announcement_id)) is not None:
        return
    try:
        async with session.begin_nested():
            session.add(AnnouncementDismissal(account_id=account_id, announcement_id=announcement_id,
                                              created_at=utcnow()))
    except IntegrityError:
        pass


# --- activity ------------------------------------------------------------------------------------


async def lock_activity_hour(session: AsyncSession, hour_start: datetime) -> ActivityHour:
    """The row of ``hour_start``, created when missing, locked until the transaction ends (PostgreSQL;
    SQLite's write transaction already excludes other writers)."""
    stmt = select(ActivityHour).where(ActivityHour.hour_start == hour_start).with_for_update()
    row = (await session.execute(stmt)).scalar_one_or_none()
    if row is not None:
        return row
    try:
        async with session.begin_nested():
            session.add(ActivityHour(hour_start=hour_start, requests=0, active_accounts=0, account_sample=[],
                                     updated_at=utcnow()))
    except IntegrityError:
        pass  # another process made it first
    return (await session.execute(stmt.execution_options(populate_existing=True))).scalar_one()


async def activity_hours(session: AsyncSession, start: datetime, end: datetime) -> list[ActivityHour]:
    stmt = (
        select(ActivityHour)
        .where(ActivityHour.hour_start >= start, ActivityHour.hour_start < end)
        .order_by(ActivityHour.hour_start)
    )
    return list((await session.execute(stmt)).scalars())


async def prune_activity(session: AsyncSession, before: datetime) -> None:
    await session.execute(delete(ActivityHour).where(ActivityHour.hour_start < before))


async def account_ids_for_tokens(session: AsyncSession, token_hashes: Iterable[str]) -> set[int]:
    """The accounts behind user tokens (app-only tokens have none)."""
    hashes = list(token_hashes)
    found: set[int] = set()
    for i in range(0, len(hashes), 500):
        stmt = (
            select(User.account_id)
            .join(AccessToken, AccessToken.user_id == User.id)
            .where(AccessToken.token_hash.in_(hashes[i:i + 500]))
        )
        found.update((await session.execute(stmt)).scalars())
    return found


async def account_ids_for_users(session: AsyncSession, user_ids: Iterable[int]) -> set[int]:
    ids = list(user_ids)
    found: set[int] = set()
    for i in range(0, len(ids), 500):
        stmt = select(User.account_id).where(User.id.in_(ids[i:i + 500]))
        found.update((await session.execute(stmt)).scalars())
    return found


async def local_posts_since(session: AsyncSession, start: datetime, end: datetime) -> list[tuple[datetime, int]]:
    """(created_at, account_id) of every local status in [start, end)."""
    stmt = select(Status.created_at, Status.account_id).where(
        Status.local.is_(True), Status.id >= id_floor(start), Status.created_at >= start, Status.created_at < end
    )
    return [(at, account_id) for at, account_id in (await session.execute(stmt)).all()]


async def users_locale_and_time_zone(session: AsyncSession) -> list[tuple[int, str | None, str | None]]:
    """(account_id, locale, time_zone) of every local user."""
    stmt = select(User.account_id, User.locale, User.time_zone)
    return [(a, locale, tz) for a, locale, tz in (await session.execute(stmt)).all()]
