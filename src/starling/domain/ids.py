"""Time-sortable 64-bit identifiers, rendered as decimal strings.

Layout (as Mastodon's): the upper 48 bits are milliseconds since the Unix epoch, the lower 16 bits
a per-process counter seeded at random, so ids made in the same millisecond by one process
still increase, and ids of different processes rarely collide (the database's primary key
catches the rest).
"""

from __future__ import annotations

import secrets
import threading
import time
from datetime import UTC, datetime

_lock = threading.Lock()
_last_ms = 0
_seq = secrets.randbelow(1 << 16)


def new_id(at: datetime | None = None) -> int:
    """Return a new id for ``at`` (default: now)."""
    global _last_ms, _seq
    if at is not None:
        return (int(at.timestamp() * 1000) << 16) | secrets.randbelow(1 << 16)
    with _lock:
        ms = int(time.time() * 1000)
        if ms <= _last_ms:
            _seq += 1
            if _seq >= 1 << 16:
                _last_ms += 1
                _seq = 0
            ms = _last_ms
        else:
            _last_ms = ms
            _seq = secrets.randbelow(1 << 12)
        return (ms << 16) | _seq


def id_floor(at: datetime) -> int:
    """The smallest id that can have been made at or after ``at``."""
    return int(at.timestamp() * 1000) << 16


def id_time(value: int) -> datetime:
    return datetime.fromtimestamp((value >> 16) / 1000, tz=UTC)


def parse_id(value: object) -> int | None:
    """Parse a client-supplied id; ``None`` when it is not a valid id."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value < 1 << 63 else None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        n = int(value)
        return n if 0 < n < 1 << 63 else None
    return None
