"""Job handler: ``prune_stream_events {}`` deletes streaming events older than the retention window.

Queued by the event writer itself (one commit with events in ``emit.PRUNE_EVERY``), so the log stays
bounded in proportion to the traffic without a scheduler; running it twice is harmless.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from starling.config import get_settings
from starling.jobs.registry import job_handler
from starling.models.base import utcnow
from starling.streaming.emit import PRUNE_JOB
from starling.streaming.store import prune_events

log = logging.getLogger("starling.streaming")


@job_handler(PRUNE_JOB)
async def run_prune_stream_events(session: AsyncSession, payload: dict[str, Any]) -> None:
    retention = float(payload.get("retention") or get_settings().streaming_retention)
    pruned = await prune_events(session, utcnow() - timedelta(seconds=retention))
    if pruned:
        log.info("pruned %d streaming events", pruned)
