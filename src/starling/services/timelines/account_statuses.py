"""Reading one account's statuses (its profile), with Mastodon's filters and pinned statuses."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.errors import NotFound
from starling.domain.paging import Page
from starling.domain.text import normalize_tag
from starling.models import Account, Status
from starling.repositories import timelines


@dataclass(frozen=True)
class AccountStatusesFilter:
    exclude_replies: bool = False
    exclude_reblogs: bool = False
    only_media: bool = False
    pinned: bool = False
    tagged: str | None = None


@dataclass
class StatusPage:
    """Statuses newest first, and the paging cursor of each (the status id, or the pin id for pins)."""

    statuses: list[Status] = field(default_factory=list)
    cursor_ids: list[int] = field(default_factory=list)


async def account_statuses(
    session: AsyncSession, viewer: Account | None, account_id: int, page: Page, filters: AccountStatusesFilter
) -> StatusPage:
    account = await session.get(Account, account_id)
    if account is None or account.suspended_at is not None:
        raise NotFound()
    viewer_id = viewer.id if viewer else None
    tag_id: int | None = None
    if filters.tagged is not None and filters.tagged.strip().removeprefix("#"):
        name = normalize_tag(filters.tagged.strip().removeprefix("#"))
        tag_id = (await timelines.find_tag_ids(session, [name])).get(name)
        if tag_id is None:
            return StatusPage()
    if filters.pinned:
        pins = await timelines.pinned_statuses(session, account_id, viewer_id, page,
                                               only_media=filters.only_media, tag_id=tag_id)
        return StatusPage([s for _, s in pins], [pin_id for pin_id, _ in pins])
    statuses = await timelines.account_statuses(
        session, account_id, viewer_id, page,
        exclude_replies=filters.exclude_replies, exclude_reblogs=filters.exclude_reblogs,
        only_media=filters.only_media, tag_id=tag_id,
    )
    return StatusPage(statuses, [s.id for s in statuses])
