"""Announcements from the admins, who dismissed them, and the server's own activity per hour.

``activity_hours`` keeps, per UTC hour, the request count and a small sample of the accounts that were
active (the smallest hashes of their ids, see ``services/maintenance/sketch.py``). Samples of several
hours, or of several worker processes, merge into the sample of their union, so distinct active
accounts can be estimated over any stretch of time without keeping every account id.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from starling.models.base import Base, IdType, UTCDateTime


class Announcement(Base):
    __tablename__ = "announcements"
    __table_args__ = (Index("ix_announcements_published_ends_at", "published", "ends_at"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=False)
    text: Mapped[str] = mapped_column(Text)
    # When what is announced happens (a maintenance window); not when the banner shows.
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    all_day: Mapped[bool] = mapped_column(Boolean, default=False)
    published: Mapped[bool] = mapped_column(Boolean, default=True)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AnnouncementDismissal(Base):
    __tablename__ = "announcement_dismissals"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    announcement_id: Mapped[int] = mapped_column(
        ForeignKey("announcements.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ActivityHour(Base):
    __tablename__ = "activity_hours"

    hour_start: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    requests: Mapped[int] = mapped_column(Integer, default=0)
    # Estimated distinct active accounts in the hour (exact while fewer than the sample size).
    active_accounts: Mapped[int] = mapped_column(Integer, default=0)
    # Sorted smallest hashes of the active accounts' ids.
    account_sample: Mapped[list[int]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
