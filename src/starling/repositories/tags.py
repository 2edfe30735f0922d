"""Hashtags as accounts relate to them: followed tags, featured tags, and usage figures."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.ids import id_floor, new_id
from starling.domain.paging import Page
from starling.domain.visibility import OPEN
from starling.models import FeaturedTag, Status, StatusTag, Tag, TagFollow
from starling.models.base import utcnow
from starling.repositories.paging import newest_first, paginate
from starling.repositories.status_queries import insert_ignoring_conflict, upsert_tags

# Milliseconds per day, and the id bits below the millisecond timestamp (see domain/ids.py).
_DAY_MS = 86_400_000
_ID_SHIFT = 1 << 16


async def find_tag(session: AsyncSession, name_lower: str) -> Tag | None:
    row: Tag | None = await session.scalar(select(Tag).where(Tag.name_lower == name_lower))
    return row


async def find_or_create_tag(session: AsyncSession, name_lower: str, name: str) -> Tag:
    """The tag named ``name_lower``, created (spelled ``name``) when nobody has used it yet."""
    (tag,) = await upsert_tags(session, {name_lower: name}, [new_id()], utcnow())
    return tag


# --- followed tags ------------------------------------------------------------------------------


async def follow_tag(session: AsyncSession, account_id: int, tag_id: int) -> None:
    """Idempotent, also against a concurrent request following the same tag."""
    await insert_ignoring_conflict(
        session, TagFollow, {"id": new_id(), "account_id": account_id, "tag_id": tag_id, "created_at": utcnow()},
        ["account_id", "tag_id"],
    )


async def unfollow_tag(session: AsyncSession, account_id: int, tag_id: int) -> None:
    await session.execute(delete(TagFollow).where(TagFollow.account_id == account_id, TagFollow.tag_id == tag_id))


async def followed_tags_page(session: AsyncSession, account_id: int, page: Page) -> list[tuple[int, Tag]]:
    """Followed tags with the id of each follow (the paging cursor), newest follow first."""
    stmt: Any = select(TagFollow.id, Tag).join(Tag, Tag.id == TagFollow.tag_id).where(
        TagFollow.account_id == account_id
    )
    rows = list((await session.execute(paginate(stmt, TagFollow.id, page))).all())
    return [(r[0], r[1]) for r in newest_first(rows, page)]


async def followed_among(session: AsyncSession, account_id: int, tag_ids: Sequence[int]) -> set[int]:
    if not tag_ids:
        return set()
    rows = await session.execute(
        select(TagFollow.tag_id).where(TagFollow.account_id == account_id, TagFollow.tag_id.in_(list(tag_ids)))
    )
    return set(rows.scalars())


# --- featured tags ------------------------------------------------------------------------------


async def featured_tags_of(session: AsyncSession, account_id: int) -> list[tuple[FeaturedTag, Tag]]:
    stmt = (
        select(FeaturedTag, Tag)
        .join(Tag, Tag.id == FeaturedTag.tag_id)
        .where(FeaturedTag.account_id == account_id)
        .order_by(FeaturedTag.id)
    )
    return [(r[0], r[1]) for r in (await session.execute(stmt)).all()]


async def get_featured_tag(session: AsyncSession, account_id: int, featured_id: int) -> tuple[FeaturedTag, Tag] | None:
    row = (
        await session.execute(
            select(FeaturedTag, Tag)
            .join(Tag, Tag.id == FeaturedTag.tag_id)
            .where(FeaturedTag.account_id == account_id, FeaturedTag.id == featured_id)
        )
    ).first()
    return (row[0], row[1]) if row is not None else None


async def featured_tag_for(session: AsyncSession, account_id: int, tag_id: int) -> FeaturedTag | None:
    row: FeaturedTag | None = await session.scalar(
        select(FeaturedTag).where(FeaturedTag.account_id == account_id, FeaturedTag.tag_id == tag_id)
    )
    return row


async def count_featured_tags(session: AsyncSession, account_id: int) -> int:
    stmt = select(func.count()).select_from(FeaturedTag).where(FeaturedTag.account_id == account_id)
    return int(await session.scalar(stmt) or 0)


async def insert_featured_tag(session: AsyncSession, account_id: int, tag_id: int, name: str) -> None:
    """Idempotent, also against a concurrent request featuring the same tag."""
    await insert_ignoring_conflict(
        session, FeaturedTag,
        {"id": new_id(), "account_id": account_id, "tag_id": tag_id, "name": name, "created_at": utcnow()},
        ["account_id", "tag_id"],
    )


async def delete_featured_tag(session: AsyncSession, featured_id: int) -> None:
    await session.execute(delete(FeaturedTag).where(FeaturedTag.id == featured_id))


async def featured_among(session: AsyncSession, account_id: int, tag_ids: Sequence[int]) -> set[int]:
    if not tag_ids:
        return set()
    rows = await session.execute(
        select(FeaturedTag.tag_id).where(FeaturedTag.account_id == account_id, FeaturedTag.tag_id.in_(list(tag_ids)))
    )
    return set(rows.scalars())


@dataclass(frozen=True)
class TagUse:
    statuses_count: int = 0
    last_status_at: datetime | None = None


async def uses_by_author(session: AsyncSession, account_id: int, tag_ids: Sequence[int]) -> dict[int, TagUse]:
    """How many of the author's public and unlisted statuses carry each tag, and when the latest was made."""
    if not tag_ids:
        return {}
    stmt = (
        select(StatusTag.tag_id, func.count(), func.max(Status.created_at))
        .join(Status, Status.id == StatusTag.status_id)
        .where(
            Status.account_id == account_id,
            StatusTag.tag_id.in_(list(tag_ids)),
            Status.visibility.in_(OPEN),
            Status.reblog_of_id.is_(None),
        )
        .group_by(StatusTag.tag_id)
    )
    out: dict[int, TagUse] = {}
    for tag_id, count, last in (await session.execute(stmt)).all():
        out[tag_id] = TagUse(int(count), last)
    return out


async def recently_used_tags(
    session: AsyncSession, account_id: int, *, exclude_featured: bool, limit: int
) -> list[Tag]:
    """Tags of the account's newest statuses, most recently used first."""
    last_use = func.max(StatusTag.status_id).label("last_use")
    stmt: Any = (
        select(Tag, last_use)
        .join(StatusTag, StatusTag.tag_id == Tag.id)
        .join(Status, Status.id == StatusTag.status_id)
        .where(Status.account_id == account_id, Status.reblog_of_id.is_(None))
        .group_by(Tag.id)
        .order_by(last_use.desc())
        .limit(limit)
    )
    if exclude_featured:
        featured = select(FeaturedTag.tag_id).where(FeaturedTag.account_id == account_id)
        stmt = stmt.where(Tag.id.not_in(featured))
    return [row[0] for row in (await session.execute(stmt)).all()]


# --- usage history ------------------------------------------------------------------------------


async def daily_uses(
    session: AsyncSession, tag_ids: Sequence[int], since: datetime
) -> dict[tuple[int, int], tuple[int, int]]:
    """(uses, distinct accounts) of each tag per UTC day since ``since``, keyed by (tag id, day number).

    The day is read off the status id (its upper bits are the creation time in milliseconds), so the
    query is a range scan of ``status_tags`` by tag and id and needs no date functions of either database.
    """
    if not tag_ids:
        return {}
    day = (StatusTag.status_id // _ID_SHIFT // _DAY_MS).label("day")
    stmt = (
        select(StatusTag.tag_id, day, func.count(), func.count(Status.account_id.distinct()))
        .join(Status, Status.id == StatusTag.status_id)
        .where(
            StatusTag.tag_id.in_(list(tag_ids)),
            StatusTag.status_id >= id_floor(since),
            Status.visibility.in_(OPEN),
            Status.reblog_of_id.is_(None),
        )
        .group_by(StatusTag.tag_id, day)
    )
    rows = (await session.execute(stmt)).all()
    return {(int(t), int(d)): (int(uses), int(accounts)) for t, d, uses, accounts in rows}
