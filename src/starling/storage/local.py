"""Media files in a local directory (``$STARLING_DATA_DIR/media`` by default)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from starling.storage.base import StoredFile, check_key, content_type_for


class LocalMediaStorage:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def _path(self, key: str) -> Path:
        path = (self.root / check_key(key)).resolve()
        # check_key already rules traversal out; this is the second lock on the same door.
        if not path.is_relative_to(self.root):
            raise ValueError("invalid storage key")
        return path

    def put(self, key: str, source: Path) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as out, source.open("rb") as src:
                shutil.copyfileobj(src, out, 1024 * 1024)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> StoredFile | None:
        try:
            path = self._path(key)
        except ValueError:
            return None
        content_type = content_type_for(key)
        if content_type is None:
            return None
        try:
            size = path.stat().st_size
        except OSError:
            return None
        if not path.is_file():
            return None
        return StoredFile(path=path, size=size, content_type=content_type)

    def delete(self, key: str) -> None:
        path = self._path(key)
        path.unlink(missing_ok=True)
        # Drop the now-empty directories up to the root, so deleted media leave nothing behind.
        parent = path.parent
        while parent != self.root and parent.is_relative_to(self.root):
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent

    def exists(self, key: str) -> bool:
        try:
            return self._path(key).is_file()
        except ValueError:
            return False

    def all_keys(self) -> list[str]:
        """Every stored key (tests and the operator's checks use it)."""
        return sorted(
            str(p.relative_to(self.root)) for p in self.root.rglob("*") if p.is_file() and not p.name.startswith(".")
        )
