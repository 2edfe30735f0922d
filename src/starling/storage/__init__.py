"""Where media files live: one interface (``MediaStorage``) and its local-directory implementation."""

from starling.storage.base import MediaStorage, StoredFile, check_key, content_type_for
from starling.storage.local import LocalMediaStorage

__all__ = ["LocalMediaStorage", "MediaStorage", "StoredFile", "check_key", "content_type_for"]
