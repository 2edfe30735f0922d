"""Rows made directly through the models, for tests that need statuses, follows and the like
without going through the endpoints that create them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select

from starling.adapters.db import unit_of_work
from starling.bootstrap import Container
from starling.domain.ids import new_id
from starling.domain.text import normalize_tag
from starling.jobs.queue import enqueue
from starling.models import (
    Account,
    Block,
    Favourite,
    Follow,
    FollowRequest,
    HomeFeedEntry,
    MediaAttachment,
    Mention,
    Mute,
    Notification,
    Pin,
    Status,
    StatusTag,
    Tag,
)
from starling.models.base import utcnow

IdLike = int | str


async def remote_account(container: Container, username: str, domain: str = "remote.example") -> int:
    now = utcnow()
    async with unit_of_work(container.sessions) as session:
        account = Account(
            id=new_id(), username=username, username_lower=username.lower(), domain=domain, domain_key=domain,
            display_name="", note="", note_html="", fields=[], locked=False, bot=False, discoverable=True,
            indexable=True, uri=f"https://{domain}/users/{username}", url=f"https://{domain}/@{username}",
            created_at=now, updated_at=now,
        )
        session.add(account)
    return account.id


async def status(
    container: Container,
    author: IdLike,
    text: str = "hello",
    *,
    visibility: str = "public",
    spoiler_text: str = "",
    reblog_of: IdLike | None = None,
    in_reply_to: IdLike | None = None,
    mentions: Sequence[IdLike] = (),
    tags: Sequence[str] = (),
    media: bool = False,
    fan_out: bool = True,
) -> int:
    """Create a status (a reblog when ``reblog_of`` is given), queue its fan-out and run the queued jobs."""
    async with unit_of_work(container.sessions) as session:
        author_account = await session.get(Account, int(author))
        assert author_account is not None
        reply_to = await session.get(Status, int(in_reply_to)) if in_reply_to is not None else None
        row = Status(
            id=new_id(), account_id=int(author), local=author_account.domain is None,
            text="" if reblog_of else text, content="" if reblog_of else f"<p>{text}</p>",
            spoiler_text=spoiler_text, visibility=visibility,
            reblog_of_id=int(reblog_of) if reblog_of is not None else None,
            in_reply_to_id=reply_to.id if reply_to else None,
            in_reply_to_account_id=reply_to.account_id if reply_to else None,
            has_media=media, created_at=utcnow(),
        )
        session.add(row)
        await session.flush()
        for account_id in mentions:
            session.add(Mention(status_id=row.id, account_id=int(account_id)))
        for name in tags:
            tag = (await session.execute(select(Tag).where(Tag.name_lower == normalize_tag(name)))).scalar()
            if tag is None:
                tag = Tag(id=new_id(), name=name, name_lower=normalize_tag(name), created_at=utcnow())
                session.add(tag)
                await session.flush()
            session.add(StatusTag(status_id=row.id, tag_id=tag.id))
        if media:
            session.add(MediaAttachment(id=new_id(), account_id=int(author), status_id=row.id, created_at=utcnow()))
        if fan_out:
            enqueue(session, "fan_out_status", {"status_id": row.id})
    await container.runner.run_until_empty()
    return row.id


async def follow(container: Container, follower: IdLike, target: IdLike, *, show_reblogs: bool = True,
                 merge: bool = False) -> None:
    async with unit_of_work(container.sessions) as session:
        session.add(Follow(id=new_id(), account_id=int(follower), target_account_id=int(target),
                           show_reblogs=show_reblogs, notify=False, created_at=utcnow()))
        if merge:
            enqueue(session, "merge_account_into_home",
                    {"account_id": int(follower), "target_account_id": int(target)})
    await container.runner.run_until_empty()


async def unfollow(container: Container, follower: IdLike, target: IdLike) -> None:
    async with unit_of_work(container.sessions) as session:
        row = (await session.execute(select(Follow).where(
            Follow.account_id == int(follower), Follow.target_account_id == int(target)))).scalar_one()
        await session.delete(row)
        enqueue(session, "unmerge_account_from_home", {"account_id": int(follower), "target_account_id": int(target)})
    await container.runner.run_until_empty()


async def block(container: Container, account: IdLike, target: IdLike) -> None:
    async with unit_of_work(container.sessions) as session:
        session.add(Block(id=new_id(), account_id=int(account), target_account_id=int(target), created_at=utcnow()))


async def mute(container: Container, account: IdLike, target: IdLike, *, expires_in: timedelta | None = None) -> None:
    expires_at: datetime | None = utcnow() + expires_in if expires_in is not None else None
    async with unit_of_work(container.sessions) as session:
        session.add(Mute(id=new_id(), account_id=int(account), target_account_id=int(target),
                         hide_notifications=True, expires_at=expires_at, created_at=utcnow()))


async def pin(container: Container, account: IdLike, status_id: IdLike) -> int:
    async with unit_of_work(container.sessions) as session:
        row = Pin(id=new_id(), account_id=int(account), status_id=int(status_id), created_at=utcnow())
        session.add(row)
    return row.id


async def notification(
    container: Container, recipient: IdLike, sender: IdLike, type: str, *, status_id: IdLike | None = None
) -> int:
    """A notification, with the row that caused it for the types whose cause can be undone."""
    async with unit_of_work(container.sessions) as session:
        activity_id = new_id()
        if type == "favourite":
            assert status_id is not None
            session.add(Favourite(id=activity_id, account_id=int(sender), status_id=int(status_id),
                                  created_at=utcnow()))
        elif type == "follow_request":
            session.add(FollowRequest(id=activity_id, account_id=int(sender), target_account_id=int(recipient),
                                      created_at=utcnow()))
        elif type == "reblog":
            assert status_id is not None
            session.add(Status(id=activity_id, account_id=int(sender), reblog_of_id=int(status_id),
                               created_at=utcnow()))
        row = Notification(
            id=new_id(), account_id=int(recipient), from_account_id=int(sender), type=type,
            activity_id=activity_id, status_id=int(status_id) if status_id is not None else None,
            created_at=utcnow(),
        )
        session.add(row)
    return row.id


async def update_account(container: Container, account: IdLike, **values: object) -> None:
    async with unit_of_work(container.sessions) as session:
        row = await session.get(Account, int(account))
        assert row is not None
        for name, value in values.items():
            setattr(row, name, value)


async def suspend(container: Container, account: IdLike) -> None:
    async with unit_of_work(container.sessions) as session:
        row = await session.get(Account, int(account))
        assert row is not None
        row.suspended_at = utcnow()


async def delete_status(container: Container, status_id: IdLike) -> None:
    async with unit_of_work(container.sessions) as session:
        row = await session.get(Status, int(status_id))
        if row is not None:
            await session.delete(row)
        enqueue(session, "remove_status_from_feeds", {"status_id": int(status_id)})
    await container.runner.run_until_empty()


async def feed_of(container: Container, account: IdLike) -> list[int]:
    """Status ids in the account's home feed, newest first."""
    async with unit_of_work(container.sessions, write=False) as session:
        rows = await session.execute(
            select(HomeFeedEntry.status_id).where(HomeFeedEntry.account_id == int(account))
            .order_by(HomeFeedEntry.status_id.desc())
        )
        return list(rows.scalars())
