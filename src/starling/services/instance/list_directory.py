"""The profile directory as a reader sees it: discoverable accounts, minus those blocked or muted."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from starling.models import Account
from starling.repositories.directory import DirectoryOrder, directory_accounts

DEFAULT_LIMIT = 40
MAX_LIMIT = 80


@dataclass(frozen=True)
class DirectoryQuery:
    order: DirectoryOrder = "active"
    local_only: bool = False
    offset: int = 0
    limit: int = DEFAULT_LIMIT


def directory_order(value: str | None) -> DirectoryOrder:
    """``new`` sorts by sign-up; anything else, as in Mastodon, by the latest post."""
    return "new" if value == "new" else "active"


async def list_directory(session: AsyncSession, viewer_id: int | None, query: DirectoryQuery) -> list[Account]:
    return await directory_accounts(
        session,
        viewer_id=viewer_id,
        local_only=query.local_only,
        order=query.order,
        offset=max(0, query.offset),
        limit=max(1, min(query.limit, MAX_LIMIT)),
    )
