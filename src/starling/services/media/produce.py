"""Turning a received upload into the files that are served: the one code path for every route
(the job for ``/api/v2/media``, the legacy synchronous ``/api/v1/media`` for images)."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starling.domain.errors import Unprocessable
from starling.models import MediaAttachment
from starling.services.media import av, images
from starling.services.media.setup import MediaSetup


@dataclass
class Produced:
    type: str
    file_key: str
    preview_key: str | None
    meta: dict[str, Any]
    blurhash: str | None
    keys: list[str] = field(default_factory=list)


def media_key(media_id: int, token: str, name: str) -> str:
    return f"media_attachments/{media_id}/{token}/{name}"


def keys_of(media: MediaAttachment) -> list[str]:
    return [k for k in (media.file_path, media.preview_path) if k]


def _store(setup: MediaSetup, work: Path, key: str, data: bytes) -> None:
    path = work / key.rsplit("/", 1)[-1]
    path.write_bytes(data)
    setup.storage.put(key, path)


def produce(setup: MediaSetup, media_id: int, token: str, family: str) -> Produced:
    """Process ``<incoming>/<id>.file`` (and its custom thumbnail, if any) into stored files.

    Blocking (decoding and ffmpeg): callers run it in a thread. Raises ``Unprocessable`` for a file
    that cannot be accepted; then nothing is left in storage. The keys come from ``token``, so running
    it twice for the same upload writes the same files.
    """
    limits = setup.limits
    source = setup.incoming_path(media_id)
    if not source.is_file():
        raise Unprocessable("Validation failed: the uploaded file is no longer available", field="file")
    thumbnail = setup.incoming_path(media_id, "thumbnail")
    work = Path(tempfile.mkdtemp(dir=setup.work_dir(), prefix=f"{media_id}-"))
    written: list[str] = []

    def store(key: str, data: bytes | None = None, path: Path | None = None) -> None:
        if data is not None:
            _store(setup, work, key, data)
        elif path is not None:
            setup.storage.put(key, path)
        written.append(key)

    try:
        if family == "image":
            done = images.process_image(source, max_pixels=limits.image_pixels, preview_size=limits.preview_size)
            file_key = media_key(media_id, token, f"original.{done.original.ext}")
            small_key = media_key(media_id, token, f"small.{done.small.ext}")
            store(file_key, done.original.data)
            store(small_key, done.small.data)
            original = {**done.original.meta(), **done.extra_meta}
            meta: dict[str, Any] = {"original": original, "small": done.small.meta()}
            return Produced("image", file_key, small_key, meta, done.blurhash, written)
        moving = av.transcode(
            source, work, ffmpeg=setup.tools.ffmpeg, ffprobe=setup.tools.ffprobe, timeout=setup.tools.timeout,
            max_pixels=limits.video_pixels, max_frame_rate=limits.video_frame_rate, expect_video=family == "video",
        )
        file_key = media_key(media_id, token, f"original.{moving.ext}")
        preview_key: str | None = None
        blurhash: str | None = None
        meta = dict(moving.meta)
        poster_source = thumbnail if thumbnail.exists() else moving.poster
        if poster_source is not None:
            poster = images.process_image(
                poster_source, max_pixels=limits.image_pixels, preview_size=limits.preview_size,
                output_format=None if poster_source == thumbnail else "JPEG",
            )
            preview_key = media_key(media_id, token, f"small.{poster.small.ext}")
            store(preview_key, poster.small.data)
            meta["small"] = poster.small.meta()
            blurhash = poster.blurhash
        store(file_key, path=moving.path)
        return Produced(moving.type, file_key, preview_key, meta, blurhash, written)
    except BaseException:
        for key in written:
            setup.storage.delete(key)
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)


def apply(media: MediaAttachment, produced: Produced) -> None:
    media.type = produced.type
    media.file_path = produced.file_key
    media.preview_path = produced.preview_key
    media.meta = produced.meta
    media.blurhash = produced.blurhash
    media.processing = "done"
    media.processing_error = None


def discard_incoming(setup: MediaSetup, media_id: int) -> None:
    for part in ("file", "thumbnail"):
        setup.incoming_path(media_id, part).unlink(missing_ok=True)
