"""The storage interface every media backend implements, and the key rules they all share.

Keys are relative, made only by the server (``media_attachments/<id>/<token>/original.jpg``), and
checked again on every access so that a key read from a URL can never leave the storage root.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

# Lower-case letters, digits, dot, dash and underscore in each segment; no empty or dot-only segment.
_SEGMENT = re.compile(r"^[a-z0-9_][a-z0-9_.-]{0,127}$")
MAX_KEY_LENGTH = 400

# Only the formats the pipeline writes; anything else is never served.
CONTENT_TYPES: dict[str, str] = {
    "jpg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "gif": "image/gif",
    "mp4": "video/mp4",
    "m4a": "audio/mp4",
}


def check_key(key: str) -> str:
    """``key`` if it is a well-formed storage key, else ``ValueError`` (no traversal, no absolute path)."""
    if not key or len(key) > MAX_KEY_LENGTH or key.startswith("/") or "\\" in key:
        raise ValueError("invalid storage key")
    parts = key.split("/")
    for part in parts:
        if not _SEGMENT.match(part) or part.strip(".") == "" or ".." in part:
            raise ValueError("invalid storage key")
    return key


def content_type_for(key: str) -> str | None:
    """The Content-Type a stored file is served with, from the extension the pipeline gave it."""
    _, _, ext = key.rpartition(".")
    return CONTENT_TYPES.get(ext)


@dataclass(frozen=True)
class StoredFile:
    """A file ready to be served: a local path (for zero-copy sending) and its size."""

    path: Path
    size: int
    content_type: str


class MediaStorage(Protocol):
    """What the media pipeline needs from a place that keeps files."""

    def put(self, key: str, source: Path) -> None:
        """Store the file at ``source`` under ``key``, replacing any earlier one, atomically."""

    def get(self, key: str) -> StoredFile | None:
        """The stored file, or None when there is none (or the key is malformed)."""

    def delete(self, key: str) -> None:
        """Remove the file if present; deleting twice is fine."""

    def exists(self, key: str) -> bool:
        """Whether a file is stored under ``key``."""
