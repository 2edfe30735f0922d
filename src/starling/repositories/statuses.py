"""Loading statuses and everything needed to show them, in a fixed number of queries."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from starling.models import (
    Account,
    Application,
    Bookmark,
    Favourite,
    MediaAttachment,
    Mention,
    Pin,
    Status,
    StatusTag,
    Tag,
)


@dataclass
class StatusBundle:
    """What rendering a list of statuses needs, loaded in batch."""

    statuses: dict[int, Status] = field(default_factory=dict)
    accounts: dict[int, Account] = field(default_factory=dict)
    mentions: dict[int, list[Account]] = field(default_factory=lambda: defaultdict(list))
    tags: dict[int, list[Tag]] = field(default_factory=lambda: defaultdict(list))
    media: dict[int, list[MediaAttachment]] = field(default_factory=lambda: defaultdict(list))
    applications: dict[int, Application] = field(default_factory=dict)
    favourited: set[int] = field(default_factory=set)
    reblogged: set[int] = field(default_factory=set)
    bookmarked: set[int] = field(default_factory=set)
    pinned: set[int] = field(default_factory=set)
    viewer_id: int | None = None


def new_status_bundle(
    status: Status,
    author: Account,
    *,
    mentioned: Iterable[Account],
    tags: Iterable[Tag],
    media: Iterable[MediaAttachment],
    application: Application | None,
    viewer_id: int | None,
) -> StatusBundle:
    """What rendering a status that was just created needs, from what creating it already had in hand,
    without a query: nobody has favourited, reblogged, bookmarked or pinned it yet. It is not a reblog
    (a reblog's bundle needs the original)."""
    if status.reblog_of_id is not None:
        raise ValueError("a reblog is rendered with load_bundle")
    bundle = StatusBundle(viewer_id=viewer_id)
    bundle.statuses[status.id] = status
    bundle.accounts[author.id] = author
    for account in mentioned:
        bundle.mentions[status.id].append(account)
        bundle.accounts[account.id] = account
    bundle.tags[status.id].extend(tags)
    bundle.media[status.id].extend(sorted(media, key=lambda m: (m.position, m.id)))
    if application is not None and application.id == status.application_id:
        bundle.applications[application.id] = application
    return bundle


async def get_status(session: AsyncSession, status_id: int) -> Status | None:
    return await session.get(Status, status_id)


async def load_bundle(
    session: AsyncSession, statuses: Iterable[Status], viewer_id: int | None
) -> StatusBundle:
    bundle = StatusBundle(viewer_id=viewer_id)
    for s in statuses:
        bundle.statuses[s.id] = s
    missing = {s.reblog_of_id for s in bundle.statuses.values() if s.reblog_of_id} - bundle.statuses.keys()
    if missing:
        for s in (await session.execute(select(Status).where(Status.id.in_(missing)))).scalars():
            bundle.statuses[s.id] = s
    ids = list(bundle.statuses)
    if not ids:
        return bundle
    account_ids = {s.account_id for s in bundle.statuses.values()}
    for sid, acc in (
        await session.execute(
            select(Mention.status_id, Account).join(Account, Account.id == Mention.account_id)
            .where(Mention.status_id.in_(ids))
        )
    ).all():
        bundle.mentions[sid].append(acc)
        bundle.accounts[acc.id] = acc
    account_ids -= bundle.accounts.keys()
    if account_ids:
        for acc in (await session.execute(select(Account).where(Account.id.in_(account_ids)))).scalars():
            bundle.accounts[acc.id] = acc
    for sid, tag in (
        await session.execute(
            select(StatusTag.status_id, Tag).join(Tag, Tag.id == StatusTag.tag_id).where(StatusTag.status_id.in_(ids))
        )
    ).all():
        bundle.tags[sid].append(tag)
    media_ids = [s.id for s in bundle.statuses.values() if s.has_media]
    if media_ids:
        for m in (
            await session.execute(
                select(MediaAttachment)
                .where(MediaAttachment.status_id.in_(media_ids))
                .order_by(MediaAttachment.position, MediaAttachment.id)
            )
        ).scalars():
            assert m.status_id is not None
            bundle.media[m.status_id].append(m)
    app_ids = {s.application_id for s in bundle.statuses.values() if s.application_id}
    if app_ids:
        for app in (await session.execute(select(Application).where(Application.id.in_(app_ids)))).scalars():
            bundle.applications[app.id] = app
    if viewer_id is not None:
        await _load_viewer_flags(session, bundle, viewer_id, ids)
    return bundle


async def _load_viewer_flags(session: AsyncSession, bundle: StatusBundle, viewer_id: int, ids: list[int]) -> None:
    """Which of ``ids`` the viewer favourited, reblogged, bookmarked and pinned: one round trip."""
    flags: Any = union_all(
        select(literal("f").label("kind"), Favourite.status_id.label("sid"))
        .where(Favourite.account_id == viewer_id, Favourite.status_id.in_(ids)),
        select(literal("r"), Status.reblog_of_id)
        .where(Status.account_id == viewer_id, Status.reblog_of_id.in_(ids)),
        select(literal("b"), Bookmark.status_id).where(Bookmark.account_id == viewer_id, Bookmark.status_id.in_(ids)),
        select(literal("p"), Pin.status_id).where(Pin.account_id == viewer_id, Pin.status_id.in_(ids)),
    )
    sets = {"f": bundle.favourited, "r": bundle.reblogged, "b": bundle.bookmarked, "p": bundle.pinned}
    for kind, sid in (await session.execute(flags)).all():
        if sid is not None:
            sets[kind].add(sid)
