"""The hashtags one follows, newest follow first."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.paging import Page
from starling.models import Account
from starling.repositories import tags as repo
from starling.services.tags.views import TagView, describe_tags


async def list_followed_tags(session: AsyncSession, account: Account, page: Page) -> list[tuple[int, TagView]]:
    """(follow id, tag) pairs; the follow id is the paging cursor."""
    rows = await repo.followed_tags_page(session, account.id, page)
    views = await describe_tags(session, account, [tag for _, tag in rows])
    return [(cursor, view) for (cursor, _), view in zip(rows, views, strict=True)]
