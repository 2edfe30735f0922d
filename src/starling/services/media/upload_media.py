"""Uploading a medium (``POST /api/v2/media``, legacy ``/api/v1/media``, and the web UI's forms).

The request only receives the file: it is copied into the private incoming area (size limit enforced
while copying), its real format sniffed from its bytes, and for images the header read under the
pixel limit. Processing is a ``process_media`` job; ``process_now`` (the legacy v1 route, images only)
runs the very same processing inside the call instead.
"""

from __future__ import annotations

import asyncio
import secrets

from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.errors import Unprocessable
from starling.domain.ids import new_id
from starling.jobs.queue import enqueue
from starling.models import MediaAttachment
from starling.models.base import utcnow
from starling.services.media import images
from starling.services.media.cleanup import schedule_sweep
from starling.services.media.produce import apply, discard_incoming, keys_of, produce
from starling.services.media.rules import check_description, parse_focus
from starling.services.media.setup import MediaSetup
from starling.services.media.source import UploadSource, receive

PROCESS_ATTEMPTS = 5


async def upload_media(
    session: AsyncSession,
    account_id: int,
    source: UploadSource,
    *,
    setup: MediaSetup,
    description: str | None = None,
    focus: str | tuple[float, float] | None = None,
    thumbnail: UploadSource | None = None,
    process_now: bool = False,
) -> MediaAttachment:
    """Receive one file for ``account_id``; returns the new attachment (``processing`` is "queued"
    until the job ran, "done" when ``process_now`` processed an image here).

    Raises ``Unprocessable`` (422) for an empty, over-size, unsupported or undecodable file, a bad
    focus or a too-long description; then no file is left behind and no row is added.
    """
    description = check_description(description, setup.limits.description_chars)
    point = parse_focus(focus)
    media_id = new_id()
    incoming = setup.incoming_path(media_id)
    media: MediaAttachment | None = None
    try:
        kind = await asyncio.to_thread(receive, source, incoming, setup.limits)
        if kind.family == "image":
            await asyncio.to_thread(images.inspect_image, incoming, setup.limits.image_pixels)
        if thumbnail is not None:
            if kind.family == "image":
                raise Unprocessable("Validation failed: a thumbnail is only for video and audio", field="thumbnail")
            thumb_path = setup.incoming_path(media_id, "thumbnail")
            await asyncio.to_thread(receive, thumbnail, thumb_path, setup.limits, images_only=True)
            await asyncio.to_thread(images.inspect_image, thumb_path, setup.limits.image_pixels)
        media = MediaAttachment(
            id=media_id, account_id=account_id, status_id=None, type=kind.family, description=description,
            focus_x=point[0] if point else None, focus_y=point[1] if point else None, meta={},
            processing="queued", position=0, created_at=utcnow(),
        )
        token = secrets.token_hex(8)
        if process_now and kind.family == "image":
            apply(media, await asyncio.to_thread(produce, setup, media_id, token, kind.family))
            discard_incoming(setup, media_id)
        else:
            enqueue(session, "process_media", {"media_id": media_id, "token": token},
                    max_attempts=PROCESS_ATTEMPTS)
        schedule_sweep(session)
        session.add(media)
        await session.flush()
        return media
    except BaseException:
        discard_upload(setup, media_id, media)
        raise


def discard_upload(setup: MediaSetup, media_id: int, media: MediaAttachment | None) -> None:
    """Undo an upload whose transaction will not commit: its incoming and stored files go."""
    discard_incoming(setup, media_id)
    if media is not None:
        for key in keys_of(media):
            setup.storage.delete(key)
