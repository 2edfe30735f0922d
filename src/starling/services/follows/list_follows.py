"""Reading the follow graph: an account's followers and followings, one's pending requests."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.paging import Page
from starling.models import Account
from starling.repositories.graph import Listed, follow_requests_page, followers_page, following_page
from starling.repositories.relationships import has_blocked
from starling.services.follows.graph_edits import load_target


async def _hidden_from(session: AsyncSession, account: Account, viewer: Account | None) -> bool:
    """An account that blocks the viewer does not show the viewer its connections."""
    return viewer is not None and viewer.id != account.id and await has_blocked(session, account.id, viewer.id)


async def list_followers(session: AsyncSession, viewer: Account | None, account_id: int, page: Page) -> list[Listed]:
    account = await load_target(session, account_id)
    if await _hidden_from(session, account, viewer):
        return []
    return await followers_page(session, account.id, page)


async def list_following(session: AsyncSession, viewer: Account | None, account_id: int, page: Page) -> list[Listed]:
    account = await load_target(session, account_id)
    if await _hidden_from(session, account, viewer):
        return []
    return await following_page(session, account.id, page)


async def list_follow_requests(session: AsyncSession, account: Account, page: Page) -> list[Listed]:
    return await follow_requests_page(session, account.id, page)
