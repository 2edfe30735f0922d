"""Figures about the server itself: database reachability, schema revision, job queue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from starling.models import Job


async def ping(conn: AsyncConnection) -> None:
    await conn.execute(text("SELECT 1"))


async def schema_revisions(conn: AsyncConnection) -> set[str]:
    """The revisions Alembic recorded; empty when the database was never migrated."""
    try:
        rows = await conn.execute(text("SELECT version_num FROM alembic_version"))
    except Exception:  # no alembic_version table: never migrated
        return set()
    return {str(r[0]) for r in rows}


@dataclass(frozen=True)
class JobQueueStats:
    due: int
    scheduled: int
    failed: int
    oldest_due_run_at: datetime | None


async def job_queue_stats(session: AsyncSession, now: datetime) -> JobQueueStats:
    """One aggregate over the jobs table (its run_at index keeps it cheap)."""
    live = Job.failed_at.is_(None)
    is_due = live & (Job.run_at <= now)
    row = (
        await session.execute(
            select(
                func.coalesce(func.sum(case((is_due, 1), else_=0)), 0),
                func.coalesce(func.sum(case((live & (Job.run_at > now), 1), else_=0)), 0),
                func.coalesce(func.sum(case((Job.failed_at.is_not(None), 1), else_=0)), 0),
                func.min(case((is_due, Job.run_at), else_=None)),
            )
        )
    ).one()
    return JobQueueStats(due=int(row[0]), scheduled=int(row[1]), failed=int(row[2]), oldest_due_run_at=row[3])
