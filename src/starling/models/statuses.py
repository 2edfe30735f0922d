"""Statuses and what hangs off them: edits, mentions, tags, favourites, bookmarks, pins, media."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from starling.models.base import Base, IdType, UTCDateTime


class Status(Base):
    __tablename__ = "statuses"
    __table_args__ = (
        Index("ix_statuses_account_id_id", "account_id", "id"),
        Index("ix_statuses_in_reply_to_id", "in_reply_to_id"),
        Index("ix_statuses_reblog_of_id", "reblog_of_id"),
        Index("ix_statuses_public_local", "visibility", "local", "id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=False)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    uri: Mapped[str | None] = mapped_column(String(1024), default=None)
    url: Mapped[str | None] = mapped_column(String(1024), default=None)
    local: Mapped[bool] = mapped_column(Boolean, default=True)
    text: Mapped[str] = mapped_column(Text, default="")
    content: Mapped[str] = mapped_column(Text, default="")
    spoiler_text: Mapped[str] = mapped_column(Text, default="")
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    visibility: Mapped[str] = mapped_column(String(16), default="public")
    language: Mapped[str | None] = mapped_column(String(16), default=None)
    in_reply_to_id: Mapped[int | None] = mapped_column(IdType, default=None)
    in_reply_to_account_id: Mapped[int | None] = mapped_column(IdType, default=None)
    reblog_of_id: Mapped[int | None] = mapped_column(IdType, default=None)
    conversation_id: Mapped[int | None] = mapped_column(IdType, default=None)
    application_id: Mapped[int | None] = mapped_column(IdType, default=None)
    has_media: Mapped[bool] = mapped_column(Boolean, default=False)
    replies_count: Mapped[int] = mapped_column(Integer, default=0)
    reblogs_count: Mapped[int] = mapped_column(Integer, default=0)
    favourites_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class StatusEdit(Base):
    __tablename__ = "status_edits"
    __table_args__ = (Index("ix_status_edits_status_id_id", "status_id", "id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=False)
    status_id: Mapped[int] = mapped_column(ForeignKey("statuses.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(IdType)
    text: Mapped[str] = mapped_column(Text, default="")
    content: Mapped[str] = mapped_column(Text, default="")
    spoiler_text: Mapped[str] = mapped_column(Text, default="")
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    media_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Mention(Base):
    __tablename__ = "mentions"
    __table_args__ = (Index("ix_mentions_account_id_status_id", "account_id", "status_id"),)

    status_id: Mapped[int] = mapped_column(ForeignKey("statuses.id", ondelete="CASCADE"), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)


class Tag(Base):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(255))
    name_lower: Mapped[str] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StatusTag(Base):
    __tablename__ = "status_tags"
    __table_args__ = (Index("ix_status_tags_tag_id_status_id", "tag_id", "status_id"),)

    status_id: Mapped[int] = mapped_column(ForeignKey("statuses.id", ondelete="CASCADE"), primary_key=True)
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True)


class Favourite(Base):
    __tablename__ = "favourites"
    __table_args__ = (
        UniqueConstraint("account_id", "status_id", name="uq_favourites_account_status"),
        Index("ix_favourites_status_id_id", "status_id", "id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=False)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    status_id: Mapped[int] = mapped_column(ForeignKey("statuses.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Bookmark(Base):
    __tablename__ = "bookmarks"
    __table_args__ = (UniqueConstraint("account_id", "status_id", name="uq_bookmarks_account_status"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=False)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    status_id: Mapped[int] = mapped_column(ForeignKey("statuses.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Pin(Base):
    __tablename__ = "pins"
    __table_args__ = (UniqueConstraint("account_id", "status_id", name="uq_pins_account_status"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=False)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    status_id: Mapped[int] = mapped_column(ForeignKey("statuses.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MediaAttachment(Base):
    __tablename__ = "media_attachments"
    __table_args__ = (Index("ix_media_attachments_status_id", "status_id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=False)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    status_id: Mapped[int | None] = mapped_column(ForeignKey("statuses.id", ondelete="SET NULL"), default=None)
    type: Mapped[str] = mapped_column(String(16), default="image")
    file_path: Mapped[str | None] = mapped_column(String(512), default=None)
    preview_path: Mapped[str | None] = mapped_column(String(512), default=None)
    remote_url: Mapped[str | None] = mapped_column(String(1024), default=None)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    focus_x: Mapped[float | None] = mapped_column(default=None)
    focus_y: Mapped[float | None] = mapped_column(default=None)
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    blurhash: Mapped[str | None] = mapped_column(String(64), default=None)
    # queued → done, or failed with processing_error (docs/MEDIA.md).
    processing: Mapped[str] = mapped_column(String(16), default="done")
    processing_error: Mapped[str | None] = mapped_column(Text, default=None)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # When a status let go of it (deleted without delete_media): kept a day for "delete and redraft".
    detached_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    status_id: Mapped[int] = mapped_column(IdType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
