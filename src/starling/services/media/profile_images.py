"""Avatars and headers: the same receiving, stripping and re-encoding as media, cropped to shape.

They are processed inside the request (a profile edit answers with the new picture's address), with
the same ``images.process_image`` the jobs use. The file replaced is removed by a job after commit.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.ids import new_id
from starling.jobs.queue import enqueue
from starling.models import Account
from starling.services.media import images
from starling.services.media.setup import MediaSetup
from starling.services.media.source import UploadSource, receive

Which = Literal["avatar", "header"]
SHAPES: dict[str, tuple[int, int]] = {"avatar": (400, 400), "header": (1500, 500)}


def _column(which: Which) -> str:
    return "avatar_path" if which == "avatar" else "header_path"


async def set_profile_image(
    session: AsyncSession, setup: MediaSetup, account: Account, which: Which, source: UploadSource
) -> list[str]:
    """Store a new avatar or header for ``account``; returns the keys written (to undo on rollback)."""
    work_id = new_id()
    incoming = setup.incoming_path(work_id, which)
    try:
        await asyncio.to_thread(receive, source, incoming, setup.limits, images_only=True)
        done = await asyncio.to_thread(
            images.process_image, incoming, max_pixels=setup.limits.image_pixels,
            preview_size=setup.limits.preview_size, crop=SHAPES[which],
        )
    finally:
        incoming.unlink(missing_ok=True)
    key = f"accounts/{which}s/{account.id}/{secrets.token_hex(8)}.{done.original.ext}"
    path = setup.work_dir() / f"{work_id}.{done.original.ext}"
    try:
        path.write_bytes(done.original.data)
        setup.storage.put(key, path)
    finally:
        path.unlink(missing_ok=True)
    _replace(session, account, which, key)
    return [key]


def remove_profile_image(session: AsyncSession, account: Account, which: Which) -> None:
    _replace(session, account, which, None)


def _replace(session: AsyncSession, account: Account, which: Which, key: str | None) -> None:
    old = getattr(account, _column(which))
    setattr(account, _column(which), key)
    if old:
        enqueue(session, "delete_media_files", {"keys": [old], "incoming": []})
