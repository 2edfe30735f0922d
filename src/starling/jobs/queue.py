"""Adding jobs to the outbox. Called by services inside their unit of work, never after it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.ids import new_id
from starling.models import Job
from starling.models.base import utcnow

JOBS_ADDED = "starling_jobs_added"


def enqueue(
    session: AsyncSession,
    kind: str,
    payload: dict[str, Any],
    *,
    delay: timedelta | None = None,
    run_at: datetime | None = None,
    max_attempts: int = 10,
) -> int:
    """Write a job in the session's transaction; it becomes visible to runners on commit."""
    now = utcnow()
    job = Job(
        id=new_id(),
        kind=kind,
        payload=payload,
        run_at=run_at or (now + delay if delay else now),
        attempts=0,
        max_attempts=max_attempts,
        created_at=now,
    )
    session.add(job)
    session.info[JOBS_ADDED] = True
    return job.id
