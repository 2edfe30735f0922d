"""Declining a pending follow request."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.errors import NotFound
from starling.models import Account
from starling.services.follows.graph_edits import load_target, withdraw_request


async def reject_follow_request(session: AsyncSession, account: Account, requester_id: int) -> Account:
    """Returns the requester. 404 when there is no pending request."""
    requester = await load_target(session, requester_id)
    if not await withdraw_request(session, requester.id, account.id):
        raise NotFound()
    return requester
