"""Featuring a hashtag on one's profile, and taking it off."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.errors import NotFound, Unprocessable
from starling.models import Account, Tag
from starling.repositories import tags as repo
from starling.services.tags.featured import MAX_FEATURED_TAGS, FeaturedTagView, describe_featured
from starling.services.tags.names import parse_tag_name
from starling.services.tags.show_tag import tag_name_or_404
from starling.services.tags.views import TagView, describe_tag, unused_tag_view


async def _feature(session: AsyncSession, account: Account, name: str, lower: str) -> Tag:
    """Idempotent (featuring a featured tag changes nothing), bounded by MAX_FEATURED_TAGS."""
    tag = await repo.find_or_create_tag(session, lower, name)
    if await repo.featured_tag_for(session, account.id, tag.id) is None:
        if await repo.count_featured_tags(session, account.id) >= MAX_FEATURED_TAGS:
            raise Unprocessable("Validation failed: You have already featured the maximum number of hashtags")
        await repo.insert_featured_tag(session, account.id, tag.id, name)
    return tag


async def feature_tag(session: AsyncSession, account: Account, raw_name: str | None) -> FeaturedTagView:
    """``POST /api/v1/featured_tags``: a name that is no hashtag is a validation error."""
    if raw_name is None or not raw_name.strip().removeprefix("#"):
        raise Unprocessable("Validation failed: Name can't be blank", field="name", code="ERR_BLANK")
    parsed = parse_tag_name(raw_name)
    if parsed is None:
        raise Unprocessable("Validation failed: Name is invalid", field="name")
    tag = await _feature(session, account, parsed.name, parsed.lower)
    featured = await repo.featured_tag_for(session, account.id, tag.id)
    assert featured is not None
    (view,) = await describe_featured(session, account, [(featured, tag)])
    return view


async def unfeature_tag(session: AsyncSession, account: Account, featured_id: int) -> None:
    """Another account's featured tag, like an unknown one, is not found."""
    row = await repo.get_featured_tag(session, account.id, featured_id)
    if row is None:
        raise NotFound()
    await repo.delete_featured_tag(session, row[0].id)


async def feature_tag_by_name(session: AsyncSession, account: Account, raw_name: str) -> TagView:
    """``POST /api/v1/tags/:name/feature``: answers with the tag."""
    name = tag_name_or_404(raw_name)
    tag = await _feature(session, account, name.name, name.lower)
    return await describe_tag(session, account, tag)


async def unfeature_tag_by_name(session: AsyncSession, account: Account, raw_name: str) -> TagView:
    """``POST /api/v1/tags/:name/unfeature``: idempotent, answers with the tag."""
    name = tag_name_or_404(raw_name)
    tag = await repo.find_tag(session, name.lower)
    if tag is None:
        return unused_tag_view(name.name, name.lower, account)
    featured = await repo.featured_tag_for(session, account.id, tag.id)
    if featured is not None:
        await repo.delete_featured_tag(session, featured.id)
    return await describe_tag(session, account, tag)
