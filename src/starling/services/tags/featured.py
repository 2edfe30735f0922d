"""Featured hashtags as shown: each with how often, and when last, its account used it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from starling.models import Account, FeaturedTag, Tag
from starling.repositories import tags as repo

# As Mastodon's FeaturedTag::LIMIT (the instance reports it as max_featured_tags).
MAX_FEATURED_TAGS = 10


@dataclass(frozen=True)
class FeaturedTagView:
    id: int
    name: str
    name_lower: str
    account: Account
    statuses_count: int
    last_status_at: datetime | None


async def describe_featured(
    session: AsyncSession, account: Account, rows: list[tuple[FeaturedTag, Tag]]
) -> list[FeaturedTagView]:
    """Most used first (as Mastodon orders them), then in the order they were featured."""
    uses = await repo.uses_by_author(session, account.id, [tag.id for _, tag in rows])
    views = []
    for featured, tag in rows:
        use = uses.get(tag.id, repo.TagUse())
        views.append(FeaturedTagView(
            id=featured.id, name=featured.name or tag.name, name_lower=tag.name_lower, account=account,
            statuses_count=use.statuses_count, last_status_at=use.last_status_at,
        ))
    views.sort(key=lambda v: -v.statuses_count)
    return views
