"""Reading a hashtag's timeline, with Mastodon's any/all/none combinations of further tags."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.paging import Page
from starling.domain.text import normalize_tag
from starling.models import Account, Status
from starling.repositories import timelines
from starling.services.timelines.public_timeline import PublicFilter


def _names(values: Sequence[str]) -> list[str]:
    return [n for n in (normalize_tag(v.strip().removeprefix("#")) for v in values) if n]


async def tag_timeline(
    session: AsyncSession,
    viewer: Account | None,
    page: Page,
    hashtag: str,
    filters: PublicFilter,
    *,
    any_of: Sequence[str] = (),
    all_of: Sequence[str] = (),
    none_of: Sequence[str] = (),
) -> list[Status]:
    """Tag names match case-insensitively; a tag nobody has used simply has an empty timeline."""
    main = _names([hashtag])
    any_names, all_names, none_names = _names(any_of), _names(all_of), _names(none_of)
    if not main:
        return []
    ids = await timelines.find_tag_ids(session, [*main, *any_names, *all_names, *none_names])
    any_ids = [ids[n] for n in (*main, *any_names) if n in ids]
    if main[0] not in ids or any(n not in ids for n in all_names):
        return []
    return await timelines.tag_timeline(
        session, viewer.id if viewer else None, page,
        any_tags=any_ids,
        all_tags=[ids[n] for n in all_names],
        none_tags=[ids[n] for n in none_names if n in ids],
        local=filters.local, remote=filters.remote, only_media=filters.only_media,
    )
