"""Materialised home timelines (fan-out on write), notifications and read markers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from starling.models.base import Base, IdType, UTCDateTime


class HomeFeedEntry(Base):
    __tablename__ = "home_feed"
    __table_args__ = (Index("ix_home_feed_status_id", "status_id"),)

    account_id: Mapped[int] = mapped_column(IdType, primary_key=True)
    status_id: Mapped[int] = mapped_column(IdType, primary_key=True)
    # Author of the status in the feed (the reblogger for reblogs): lets unfollow/block/mute
    # remove entries without a join.
    author_id: Mapped[int] = mapped_column(IdType)


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("account_id", "type", "activity_id", name="uq_notifications_activity"),
        Index("ix_notifications_account_id_id", "account_id", "id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=False)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    from_account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(32))
    # Id of what caused it (status, favourite, follow, follow request): makes creation idempotent.
    activity_id: Mapped[int] = mapped_column(IdType)
    status_id: Mapped[int | None] = mapped_column(IdType, default=None, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Marker(Base):
    __tablename__ = "markers"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    timeline: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_read_id: Mapped[int] = mapped_column(IdType)
    version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
