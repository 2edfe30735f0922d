"""Showing a hashtag with whether the viewer follows or features it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.errors import NotFound
from starling.models import Account
from starling.repositories import tags as repo
from starling.services.tags.names import TagName, parse_tag_name
from starling.services.tags.views import TagView, describe_tag, unused_tag_view


def tag_name_or_404(raw: str) -> TagName:
    """A path segment that is no hashtag name is not found (as Mastodon)."""
    parsed = parse_tag_name(raw)
    if parsed is None:
        raise NotFound()
    return parsed


async def show_tag(session: AsyncSession, viewer: Account | None, raw_name: str) -> TagView:
    name = tag_name_or_404(raw_name)
    tag = await repo.find_tag(session, name.lower)
    if tag is None:
        return unused_tag_view(name.name, name.lower, viewer)
    return await describe_tag(session, viewer, tag)
