"""Featured hashtags: one's own, another account's, and suggestions of what to feature."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.errors import NotFound
from starling.models import Account
from starling.repositories import tags as repo
from starling.repositories.accounts import get_account
from starling.services.tags.featured import FeaturedTagView, describe_featured
from starling.services.tags.views import TagView, describe_tags

SUGGESTIONS = 10


async def list_featured_tags(session: AsyncSession, account: Account) -> list[FeaturedTagView]:
    return await describe_featured(session, account, await repo.featured_tags_of(session, account.id))


async def account_featured_tags(session: AsyncSession, account_id: int) -> list[FeaturedTagView]:
    """Anyone may see what an account features; a suspended account features nothing (as Mastodon)."""
    account = await get_account(session, account_id)
    if account is None:
        raise NotFound()
    if account.suspended_at is not None:
        return []
    return await list_featured_tags(session, account)


async def suggest_featured_tags(session: AsyncSession, account: Account) -> list[TagView]:
    """The account's most recently used tags that it does not feature yet."""
    tags = await repo.recently_used_tags(session, account.id, exclude_featured=True, limit=SUGGESTIONS)
    return await describe_tags(session, account, tags)
