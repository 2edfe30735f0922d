"""Hashtags an account follows (their public statuses reach its home feed) or features on its profile.

A featured tag's status count and latest use are not stored: they are read from the account's
statuses when shown, so posting, editing and deleting need not keep them in step.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from starling.models.base import Base, IdType, UTCDateTime


class TagFollow(Base):
    __tablename__ = "tag_follows"
    __table_args__ = (
        UniqueConstraint("account_id", "tag_id", name="uq_tag_follows_account_tag"),
        Index("ix_tag_follows_tag_id_account_id", "tag_id", "account_id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=False)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FeaturedTag(Base):
    __tablename__ = "featured_tags"
    __table_args__ = (
        UniqueConstraint("account_id", "tag_id", name="uq_featured_tags_account_tag"),
        Index("ix_featured_tags_tag_id", "tag_id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=False)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"))
    # The name as the account wrote it when featuring the tag.
    name: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
