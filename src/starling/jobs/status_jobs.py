"""Job handlers: statuses (notifications that follow posting, favouriting, reblogging and editing)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from starling.jobs.registry import job_handler
from starling.services.statuses import notify_interactions


@job_handler("notify_mentions")
async def notify_mentions(session: AsyncSession, payload: dict[str, Any]) -> None:
    await notify_interactions.notify_mentions(session, int(payload["status_id"]))


@job_handler("notify_favourite")
async def notify_favourite(session: AsyncSession, payload: dict[str, Any]) -> None:
    await notify_interactions.notify_favourite(session, int(payload["favourite_id"]))


@job_handler("notify_reblog")
async def notify_reblog(session: AsyncSession, payload: dict[str, Any]) -> None:
    await notify_interactions.notify_reblog(session, int(payload["status_id"]))


@job_handler("notify_status_update")
async def notify_status_update(session: AsyncSession, payload: dict[str, Any]) -> None:
    await notify_interactions.notify_status_update(session, int(payload["status_id"]))
