"""What a hashtag is to the viewer (followed? featured?) and how much it was used lately, batched."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from starling.models import Account, Tag
from starling.models.base import utcnow
from starling.repositories import tags as repo

HISTORY_DAYS = 7
_DAY_MS = 86_400_000


@dataclass(frozen=True)
class DayUse:
    day: datetime  # midnight UTC
    uses: int
    accounts: int


@dataclass(frozen=True)
class TagView:
    """A tag as shown to a viewer. ``id`` is None for a tag nobody has used or followed yet."""

    id: int | None
    name: str
    name_lower: str
    following: bool | None = None  # None: no signed-in viewer
    featuring: bool | None = None
    history: list[DayUse] = field(default_factory=list)


def _days(now: datetime) -> list[datetime]:
    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return [today - timedelta(days=i) for i in range(HISTORY_DAYS)]


async def describe_tags(session: AsyncSession, viewer: Account | None, tags: list[Tag]) -> list[TagView]:
    """Views of ``tags`` in order: three queries whatever their number."""
    ids = [t.id for t in tags]
    days = _days(utcnow())
    daily = await repo.daily_uses(session, ids, days[-1])
    following: set[int] = set()
    featuring: set[int] = set()
    if viewer is not None:
        following = await repo.followed_among(session, viewer.id, ids)
        featuring = await repo.featured_among(session, viewer.id, ids)
    views = []
    for tag in tags:
        history = []
        for day in days:
            number = int(day.timestamp() * 1000) // _DAY_MS
            uses, accounts = daily.get((tag.id, number), (0, 0))
            history.append(DayUse(day=day, uses=uses, accounts=accounts))
        views.append(TagView(
            id=tag.id, name=tag.name, name_lower=tag.name_lower,
            following=(tag.id in following) if viewer is not None else None,
            featuring=(tag.id in featuring) if viewer is not None else None,
            history=history,
        ))
    return views


async def describe_tag(session: AsyncSession, viewer: Account | None, tag: Tag) -> TagView:
    return (await describe_tags(session, viewer, [tag]))[0]


def unused_tag_view(name: str, name_lower: str, viewer: Account | None) -> TagView:
    """A valid tag name nobody has used: shown as Mastodon shows it, without an id and with no uses."""
    empty = [DayUse(day=day, uses=0, accounts=0) for day in _days(utcnow())]
    signed_in = viewer is not None
    return TagView(id=None, name=name, name_lower=name_lower, following=False if signed_in else None,
                   featuring=False if signed_in else None, history=empty)
