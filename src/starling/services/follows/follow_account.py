"""Following an account: a follow for an open account, a follow request for a locked one."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.errors import Forbidden, NotFound
from starling.domain.ids import new_id
from starling.jobs.queue import enqueue
from starling.models import Account, Follow, FollowRequest
from starling.models.base import utcnow
from starling.repositories.graph import get_follow, get_follow_request
from starling.repositories.relationships import has_blocked
from starling.services.follows.graph_edits import establish_follow, insert_once, load_target


def _apply_options(edge: Follow | FollowRequest, reblogs: bool | None, notify: bool | None) -> None:
    if reblogs is not None:
        edge.show_reblogs = reblogs
    if notify is not None:
        edge.notify = notify


async def follow_account(
    session: AsyncSession,
    account: Account,
    target_id: int,
    *,
    reblogs: bool | None = None,
    notify: bool | None = None,
) -> Account:
    """Follow (or ask to follow) ``target_id``. Following again only updates the options given
    (``None`` keeps the current value). Returns the target."""
    target = await load_target(session, target_id)
    if target.id == account.id:
        raise Forbidden("You cannot follow yourself")
    if await has_blocked(session, account.id, target.id):
        raise Forbidden("You are blocking this account; unblock it before following")
    if await has_blocked(session, target.id, account.id):
        raise Forbidden("You cannot follow this account because it has blocked you")

    for _ in range(2):
        existing: Follow | FollowRequest | None = await get_follow(session, account.id, target.id)
        if existing is None:
            existing = await get_follow_request(session, account.id, target.id)
        if existing is not None:
            _apply_options(existing, reblogs, notify)
            await session.flush()
            return target
        show_reblogs = True if reblogs is None else reblogs
        wants_notify = False if notify is None else notify
        if target.locked:
            request = FollowRequest(
                id=new_id(), account_id=account.id, target_account_id=target.id,
                show_reblogs=show_reblogs, notify=wants_notify, created_at=utcnow(),
            )
            if await insert_once(session, request):
                enqueue(session, "notify_follow_request", {"follow_request_id": request.id})
                return target
        else:
            follow = await establish_follow(
                session, account.id, target.id, show_reblogs=show_reblogs, notify=wants_notify
            )
            if follow is not None:
                enqueue(session, "notify_follow", {"follow_id": follow.id})
                return target
    raise NotFound()
