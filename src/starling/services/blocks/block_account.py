"""Blocking an account: it ends every follow and follow request between the two."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.errors import Forbidden
from starling.domain.ids import new_id
from starling.models import Account, Block
from starling.models.base import utcnow
from starling.repositories.graph import delete_notifications_between, get_block
from starling.services.follows.graph_edits import (
    end_follow,
    insert_once,
    load_target,
    unmerge_from_home,
    withdraw_request,
)
from starling.streaming.emit import graph_changed


async def block_account(session: AsyncSession, account: Account, target_id: int) -> Account:
    """Idempotent. Returns the target."""
    target = await load_target(session, target_id)
    if target.id == account.id:
        raise Forbidden("You cannot block yourself")
    if await get_block(session, account.id, target.id) is None:
        block = Block(id=new_id(), account_id=account.id, target_account_id=target.id, created_at=utcnow())
        await insert_once(session, block)
    for a, b in ((account.id, target.id), (target.id, account.id)):
        await end_follow(session, a, b, unmerge=False)
        await withdraw_request(session, a, b)
    await delete_notifications_between(session, account.id, target.id)
    unmerge_from_home(session, account.id, target.id)
    unmerge_from_home(session, target.id, account.id)
    graph_changed(session, account.id, target.id)
    return target
