"""Accepting a pending follow request: it becomes a follow with the options asked for."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.errors import NotFound
from starling.models import Account
from starling.repositories.graph import delete_follow_request, get_follow_request
from starling.services.follows.graph_edits import establish_follow, load_target


async def authorize_follow_request(session: AsyncSession, account: Account, requester_id: int) -> Account:
    """Returns the requester, now a follower. 404 when there is no pending request."""
    requester = await load_target(session, requester_id)
    request = await get_follow_request(session, requester.id, account.id)
    if request is None or not await delete_follow_request(session, request):
        raise NotFound()
    await establish_follow(
        session, requester.id, account.id, show_reblogs=request.show_reblogs, notify=request.notify
    )
    return requester
