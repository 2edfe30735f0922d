"""An uploaded file as the pipeline receives it (a path, bytes or an open stream), and taking it in:
copied into the private incoming area with the size limit enforced while copying, then sniffed."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from starling.domain.errors import Unprocessable
from starling.services.media.setup import MB, MediaLimits
from starling.services.media.sniff import HEAD_BYTES, Sniffed, sniff

CHUNK = 1024 * 1024


@dataclass
class UploadSource:
    """Exactly one of ``path``, ``data`` or ``stream``. ``filename`` and ``content_type`` are what the
    client said; they are never trusted for the format (the bytes are sniffed)."""

    path: Path | None = None
    data: bytes | None = None
    stream: BinaryIO | None = None
    filename: str = ""
    content_type: str | None = None

    @classmethod
    def from_bytes(cls, data: bytes, filename: str = "", content_type: str | None = None) -> UploadSource:
        return cls(data=data, filename=filename, content_type=content_type)

    @classmethod
    def from_path(cls, path: Path, filename: str = "", content_type: str | None = None) -> UploadSource:
        return cls(path=path, filename=filename or path.name, content_type=content_type)

    def _open(self) -> BinaryIO:
        if self.path is not None:
            return self.path.open("rb")
        if self.stream is not None:
            self.stream.seek(0)
            return self.stream
        raise ValueError("no file")


def _too_large(limit: int) -> Unprocessable:
    return Unprocessable(f"Validation failed: File file size must be less than {limit // MB} MB", field="file")


def receive(source: UploadSource, target: Path, limits: MediaLimits, *, images_only: bool = False) -> Sniffed:
    """Copy ``source`` to ``target`` (never more than the largest limit), sniff it, check its size.

    Leaves nothing at ``target`` when it raises. Blocking: run it in a thread for large files.
    """
    ceiling = limits.image_size if images_only else max(limits.image_size, limits.video_size)
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        size = 0
        head = b""
        if source.data is not None:
            size = len(source.data)
            if size > ceiling:
                raise _too_large(ceiling)
            head = source.data[:HEAD_BYTES]
            target.write_bytes(source.data)
        else:
            src = source._open()
            try:
                with target.open("wb") as out:
                    while True:
                        chunk = src.read(CHUNK)
                        if not chunk:
                            break
                        if len(head) < HEAD_BYTES:
                            head += chunk[: HEAD_BYTES - len(head)]
                        size += len(chunk)
                        if size > ceiling:
                            raise _too_large(ceiling)
                        out.write(chunk)
            finally:
                if source.path is not None:
                    src.close()
        if size == 0:
            raise Unprocessable("Validation failed: File is empty", field="file")
        kind = sniff(head)
        if kind is None or (images_only and kind.family != "image"):
            raise Unprocessable("Validation failed: File content type is not supported", field="file")
        limit = limits.image_size if kind.family == "image" else limits.video_size
        if size > limit:
            raise _too_large(limit)
        return kind
    except BaseException:
        target.unlink(missing_ok=True)
        raise


def copy_file(source: Path, target: Path) -> None:
    with source.open("rb") as src, target.open("wb") as out:
        shutil.copyfileobj(src, out, CHUNK)
