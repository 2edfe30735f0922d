"""Job handlers: follows, follow requests and timed mutes.

``notify_follow {"follow_id"}``, ``notify_follow_request {"follow_request_id"}`` and
``expire_mute {"mute_id"}`` (queued to run when a timed mute ends).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.ids import parse_id
from starling.jobs.registry import job_handler
from starling.models import Follow, FollowRequest
from starling.services.mutes.expire_mute import expire_mute
from starling.services.notifications.notify import notify


@job_handler("notify_follow")
async def notify_follow(session: AsyncSession, payload: dict[str, Any]) -> None:
    follow_id = parse_id(payload.get("follow_id"))
    follow = await session.get(Follow, follow_id) if follow_id is not None else None
    if follow is None:
        return
    await notify(session, account_id=follow.target_account_id, from_account_id=follow.account_id,
                 type="follow", activity_id=follow.id)


@job_handler("notify_follow_request")
async def notify_follow_request(session: AsyncSession, payload: dict[str, Any]) -> None:
    request_id = parse_id(payload.get("follow_request_id"))
    request = await session.get(FollowRequest, request_id) if request_id is not None else None
    if request is None:
        return
    await notify(session, account_id=request.target_account_id, from_account_id=request.account_id,
                 type="follow_request", activity_id=request.id)


@job_handler("expire_mute")
async def run_expire_mute(session: AsyncSession, payload: dict[str, Any]) -> None:
    if (mute_id := parse_id(payload.get("mute_id"))) is not None:
        await expire_mute(session, mute_id)
