"""Removing media: files of deleted media (a job), media a status let go of, and stale unattached
uploads (a sweep that every upload schedules a day ahead, so no separate scheduler is needed)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from starling.jobs.queue import enqueue
from starling.models import MediaAttachment
from starling.models.base import utcnow
from starling.repositories import media as repo
from starling.services.media.produce import discard_incoming, keys_of
from starling.services.media.setup import MediaSetup

KEEP_UNATTACHED = timedelta(days=1)
SWEEP_AFTER = KEEP_UNATTACHED + timedelta(minutes=5)
SWEEP_BATCH = 200


def schedule_sweep(session: AsyncSession, delay: timedelta = SWEEP_AFTER) -> None:
    enqueue(session, "sweep_unattached_media", {}, delay=delay)


def forget_media(session: AsyncSession, media: list[MediaAttachment]) -> None:
    """Queue the removal of these media's files (stored and incoming) once the transaction commits."""
    if media:
        keys = [k for m in media for k in keys_of(m)]
        enqueue(session, "delete_media_files", {"keys": keys, "incoming": [m.id for m in media]})


async def release_status_media(session: AsyncSession, status_id: int, *, delete: bool) -> None:
    """A status is being deleted: its media go with it (``delete``), or are kept a day for a redraft."""
    if delete:
        media = await repo.media_of_status(session, status_id)
        forget_media(session, media)
        await repo.delete_media_rows(session, [m.id for m in media])
    else:
        await repo.release_media_of_status(session, status_id, utcnow())
        schedule_sweep(session)


async def sweep_unattached_media(session: AsyncSession, *, now: datetime | None = None) -> int:
    """Delete unattached media older than a day (and released more than a day ago). Returns how many."""
    cutoff = (now or utcnow()) - KEEP_UNATTACHED
    stale = await repo.stale_unattached(session, cutoff, SWEEP_BATCH)
    forget_media(session, stale)
    await repo.delete_media_rows(session, [m.id for m in stale])
    if len(stale) == SWEEP_BATCH:
        schedule_sweep(session, timedelta(0))
    return len(stale)


def delete_files(setup: MediaSetup, keys: list[str], incoming: list[int]) -> None:
    """Idempotent: files already gone are fine."""
    for key in keys:
        try:
            setup.storage.delete(key)
        except ValueError:
            continue  # never a key the pipeline made; nothing to remove
    for media_id in incoming:
        discard_incoming(setup, media_id)
