"""The ``process_media`` job's steps. The job handler runs them in this order:

1. ``media_to_process``: what to do (None when the upload is gone or already processed);
2. the handler ends the transaction, then ``run_processing`` does the slow work with no database lock;
3. ``record_processed`` / ``record_failed`` write the outcome in a new transaction.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.errors import Unprocessable
from starling.jobs.queue import enqueue
from starling.repositories import media as repo
from starling.services.media.produce import Produced, apply, keys_of, produce
from starling.services.media.setup import MediaSetup


@dataclass(frozen=True)
class Pending:
    media_id: int
    token: str
    family: str


async def media_to_process(session: AsyncSession, media_id: int, token: str) -> Pending | None:
    media = await repo.get_media(session, media_id, fresh=True)
    if media is None or media.processing != "queued":
        return None
    return Pending(media_id, token, media.type)


async def run_processing(setup: MediaSetup, pending: Pending) -> Produced | Unprocessable:
    """The stored files, or the reason the file is refused. Other errors (ffmpeg missing, disk full) raise."""
    try:
        return await asyncio.to_thread(produce, setup, pending.media_id, pending.token, pending.family)
    except Unprocessable as exc:
        return exc


async def record_processed(session: AsyncSession, pending: Pending, produced: Produced) -> None:
    media = await repo.get_media(session, pending.media_id, fresh=True)
    if media is None or media.processing != "queued":
        # Deleted, or finished by another runner that took over an expired lease, while we worked:
        # our files are not wanted, except those the row now uses (the same token makes the same keys).
        in_use = set(keys_of(media)) if media is not None else set()
        unwanted = [k for k in produced.keys if k not in in_use]
        enqueue(session, "delete_media_files", {"keys": unwanted, "incoming": [pending.media_id]})
        return
    apply(media, produced)
    enqueue(session, "delete_media_files", {"keys": [], "incoming": [pending.media_id]})


async def record_failed(session: AsyncSession, pending: Pending, error: Unprocessable) -> None:
    media = await repo.get_media(session, pending.media_id, fresh=True)
    enqueue(session, "delete_media_files", {"keys": [], "incoming": [pending.media_id]})
    if media is None or media.processing != "queued":
        return
    media.processing = "failed"
    media.processing_error = error.message
