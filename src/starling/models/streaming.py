"""The streaming event log: one row per thing a connected client may be told about.

A row is written in the same transaction as the change it describes, so a committed change always has
its event and a rolled-back one never does. Ids grow in commit order (see ``starling.streaming.emit``):
a client that last saw id N resumes with every event above N. Rows are kept for the retention window
(``STARLING_STREAMING_RETENTION``) and then pruned.

One event per status or notification, not one per recipient: ``audience`` carries what a connection
needs to decide on its own whether the event is for it (mentions, tags, the replied-to account, ...).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, String
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Mapped, mapped_column

from starling.models.base import Base, IdType, UTCDateTime

# SQLite's AUTOINCREMENT never hands out an id again, even after the newest rows were pruned.
EventIdType = BigInteger().with_variant(sqlite.INTEGER(), "sqlite")


class StreamEvent(Base):
    __tablename__ = "stream_events"
    __table_args__ = (Index("ix_stream_events_created_at", "created_at"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(EventIdType, primary_key=True, autoincrement=True)
    # "update", "status.update", "delete", "notification", "filters_changed", or an internal kind starting
    # with "_" that is never sent to clients ("_graph", "_revoke", "_suspend").
    kind: Mapped[str] = mapped_column(String(32))
    # The author (status events), the recipient (notification, filters_changed), the subject (internal).
    account_id: Mapped[int | None] = mapped_column(IdType, default=None)
    # The status, the notification, or the access token the event is about.
    object_id: Mapped[int | None] = mapped_column(IdType, default=None)
    visibility: Mapped[str | None] = mapped_column(String(16), default=None)
    audience: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
