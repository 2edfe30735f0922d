"""Lists: named groups of followed accounts, each with its own timeline.

A member row points at the follow that allowed it (``follow_id``, cascading), so unfollowing an
account (or blocking it, which ends the follow) takes it out of every list of the follower without
any code having to remember to. Only a list's owner may be a member without a follow.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from starling.models.base import Base, IdType, UTCDateTime


class List(Base):
    __tablename__ = "lists"
    __table_args__ = (Index("ix_lists_account_id_id", "account_id", "id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=False)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(255))
    # Which replies by members the list shows: "followed", "list" or "none" (as Mastodon).
    replies_policy: Mapped[str] = mapped_column(String(16), default="list")
    # Members' statuses stay out of the owner's home feed.
    exclusive: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ListAccount(Base):
    __tablename__ = "list_accounts"
    __table_args__ = (
        UniqueConstraint("list_id", "account_id", name="uq_list_accounts_list_account"),
        Index("ix_list_accounts_account_id", "account_id"),
        Index("ix_list_accounts_follow_id", "follow_id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=False)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    follow_id: Mapped[int | None] = mapped_column(ForeignKey("follows.id", ondelete="CASCADE"), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
