"""Job handlers: home feeds.

``fan_out_status {"status_id"}``, ``remove_status_from_feeds {"status_id"}``,
``merge_account_into_home {"account_id", "target_account_id"}``,
``unmerge_account_from_home {"account_id", "target_account_id"}`` and the housekeeping job
``trim_home_feeds {"account_id", "bucket"}`` that one fan-out in four queues: it trims one bucket of the
author's followers' feeds to their newest entries, so feeds stay bounded without a scheduler
(see ``services/timelines/fan_out.py``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.ids import parse_id
from starling.jobs.registry import job_handler
from starling.services.timelines.fan_out import fan_out_status, trim_follower_feeds
from starling.services.timelines.merge_account import merge_account_into_home
from starling.services.timelines.remove_from_feeds import remove_status_from_feeds
from starling.services.timelines.unmerge_account import unmerge_account_from_home


def _id(payload: dict[str, Any], key: str) -> int | None:
    return parse_id(payload.get(key))


@job_handler("fan_out_status")
async def run_fan_out_status(session: AsyncSession, payload: dict[str, Any]) -> None:
    if (status_id := _id(payload, "status_id")) is not None:
        await fan_out_status(session, status_id)


@job_handler("remove_status_from_feeds")
async def run_remove_status_from_feeds(session: AsyncSession, payload: dict[str, Any]) -> None:
    if (status_id := _id(payload, "status_id")) is not None:
        await remove_status_from_feeds(session, status_id)


@job_handler("merge_account_into_home")
async def run_merge_account_into_home(session: AsyncSession, payload: dict[str, Any]) -> None:
    account_id, target_id = _id(payload, "account_id"), _id(payload, "target_account_id")
    if account_id is not None and target_id is not None:
        await merge_account_into_home(session, account_id, target_id)


@job_handler("unmerge_account_from_home")
async def run_unmerge_account_from_home(session: AsyncSession, payload: dict[str, Any]) -> None:
    account_id, target_id = _id(payload, "account_id"), _id(payload, "target_account_id")
    if account_id is not None and target_id is not None:
        await unmerge_account_from_home(session, account_id, target_id)


@job_handler("trim_home_feeds")
async def run_trim_home_feeds(session: AsyncSession, payload: dict[str, Any]) -> None:
    account_id, bucket = _id(payload, "account_id"), payload.get("bucket")
    if account_id is not None and isinstance(bucket, int):
        await trim_follower_feeds(session, account_id, bucket)
