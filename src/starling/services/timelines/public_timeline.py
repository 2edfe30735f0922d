"""Reading the public (federated or local) timeline."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.paging import Page
from starling.models import Account, Status
from starling.repositories import timelines


@dataclass(frozen=True)
class PublicFilter:
    local: bool = False
    remote: bool = False
    only_media: bool = False


async def public_timeline(
    session: AsyncSession, viewer: Account | None, page: Page, filters: PublicFilter
) -> list[Status]:
    return await timelines.public_timeline(
        session, viewer.id if viewer else None, page,
        local=filters.local, remote=filters.remote, only_media=filters.only_media,
    )
