"""Following and unfollowing a hashtag: its public statuses then reach (or stop reaching) the home feed."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from starling.models import Account
from starling.repositories import tags as repo
from starling.services.tags.show_tag import tag_name_or_404
from starling.services.tags.views import TagView, describe_tag, unused_tag_view
from starling.streaming.emit import graph_changed


async def follow_tag(session: AsyncSession, account: Account, raw_name: str) -> TagView:
    """Idempotent; the tag is created when nobody has used it yet."""
    name = tag_name_or_404(raw_name)
    tag = await repo.find_or_create_tag(session, name.lower, name.name)
    await repo.follow_tag(session, account.id, tag.id)
    graph_changed(session, account.id)
    return await describe_tag(session, account, tag)


async def unfollow_tag(session: AsyncSession, account: Account, raw_name: str) -> TagView:
    """Idempotent. Statuses already in the home feed stay there (as with Mastodon)."""
    name = tag_name_or_404(raw_name)
    tag = await repo.find_tag(session, name.lower)
    if tag is None:
        return unused_tag_view(name.name, name.lower, account)
    await repo.unfollow_tag(session, account.id, tag.id)
    graph_changed(session, account.id)
    return await describe_tag(session, account, tag)
