"""Job handlers: media processing, removal of media files, and the sweep of stale unattached uploads."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.errors import Unprocessable
from starling.jobs.registry import job_handler
from starling.services.media import cleanup, process_media
from starling.services.media.setup import current_setup


@job_handler("process_media")
async def process_media_job(session: AsyncSession, payload: dict[str, Any]) -> None:
    pending = await process_media.media_to_process(session, int(payload["media_id"]), str(payload["token"]))
    if pending is None:
        return
    # Decoding and transcoding take seconds to minutes. On SQLite this job's transaction holds the
    # write lock (BEGIN IMMEDIATE), so it is ended before the work and a fresh one records the result.
    # The job row stays leased meanwhile; a crash reruns the job, which writes the same files again.
    await session.commit()
    outcome = await process_media.run_processing(current_setup(), pending)
    if isinstance(outcome, Unprocessable):
        await process_media.record_failed(session, pending, outcome)
    else:
        await process_media.record_processed(session, pending, outcome)


@job_handler("delete_media_files")
async def delete_media_files(session: AsyncSession, payload: dict[str, Any]) -> None:
    cleanup.delete_files(current_setup(), [str(k) for k in payload.get("keys", [])],
                         [int(i) for i in payload.get("incoming", [])])


@job_handler("sweep_unattached_media")
async def sweep_unattached_media(session: AsyncSession, payload: dict[str, Any]) -> None:
    await cleanup.sweep_unattached_media(session)
