"""Queries behind posting and interacting with statuses (beyond loading them for display)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, cast

from sqlalchemy import Table, and_, case, delete, func, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key
from sqlalchemy.sql.elements import ColumnElement

from starling.domain.paging import Page
from starling.models import (
    Account,
    Bookmark,
    Favourite,
    IdempotencyKey,
    MediaAttachment,
    Mention,
    Pin,
    Status,
    StatusEdit,
    StatusTag,
    Tag,
)
from starling.models.base import Base
from starling.repositories.paging import newest_first, paginate
from starling.repositories.visibility import author_not_suspended, not_muted_by, visible_to


def _dialect(session: AsyncSession) -> str:
    bind = session.bind
    return bind.dialect.name if bind is not None else "sqlite"


async def insert_ignoring_conflict(
    session: AsyncSession, model: type[Base], values: dict[str, Any], conflict_columns: Sequence[str]
) -> bool:
    """Insert one row unless one with the same ``conflict_columns`` exists. True when inserted.

    Safe against a concurrent insert of the same key: the database resolves it, not a read-then-write."""
    table = cast(Table, model.__table__)
    stmt: Any
    if _dialect(session) == "postgresql":
        stmt = postgresql.insert(table).values(**values).on_conflict_do_nothing(index_elements=list(conflict_columns))
    else:
        stmt = sqlite.insert(table).values(**values).on_conflict_do_nothing(index_elements=list(conflict_columns))
    pk = next(iter(table.primary_key))
    inserted = (await session.execute(stmt.returning(pk))).first()
    return inserted is not None


async def lock_row(session: AsyncSession, model: Any, row_id: int) -> None:
    """Serialise concurrent writers on one row (a no-op on SQLite, whose writers are serialised anyway)."""
    await session.execute(select(model.id).where(model.id == row_id).with_for_update())


async def add_to_counter(
    session: AsyncSession, model: Any, row_id: int, column: str, delta: int, *, also: dict[str, Any] | None = None
) -> None:
    """Atomic ``column += delta`` (never below zero), setting the columns in ``also`` in the same statement;
    a loaded object gets the new values without a reload."""
    col = getattr(model, column)
    value: Any = col + delta if delta > 0 else case((col + delta > 0, col + delta), else_=0)
    extra = also or {}
    result = await session.execute(
        update(model)
        .where(model.id == row_id)
        .values({column: value, **extra})
        .returning(col)
        .execution_options(synchronize_session=False)
    )
    new_value = result.scalar_one_or_none()
    loaded = session.sync_session.identity_map.get(identity_key(model, row_id))
    if loaded is not None and new_value is not None:
        set_committed_value(loaded, column, new_value)
        for name, set_to in extra.items():
            set_committed_value(loaded, name, set_to)


# Mentions and tags


async def find_mentionable(
    session: AsyncSession, handles: Iterable[tuple[str, str | None]]
) -> dict[tuple[str, str | None], Account]:
    """Accounts for ``(username_lower, domain or None)`` pairs, skipping suspended ones."""
    pairs = list(dict.fromkeys(handles))
    if not pairs:
        return {}
    cond = or_(*(and_(Account.username_lower == u, Account.domain_key == (d or "")) for u, d in pairs))
    rows = (await session.execute(select(Account).where(cond, Account.suspended_at.is_(None)))).scalars()
    return {(a.username_lower, a.domain.lower() if a.domain else None): a for a in rows}


async def upsert_tags(session: AsyncSession, names: dict[str, str], new_ids: Iterable[int], now: Any) -> list[Tag]:
    """Tags for ``{name_lower: name}``, created when missing; concurrent creators agree on one row."""
    if not names:
        return []
    ids = iter(new_ids)
    for lower, name in names.items():
        await insert_ignoring_conflict(
            session, Tag, {"id": next(ids), "name": name, "name_lower": lower, "created_at": now}, ["name_lower"]
        )
    tags = (await session.execute(select(Tag).where(Tag.name_lower.in_(list(names))))).scalars()
    by_lower = {t.name_lower: t for t in tags}
    return [by_lower[n] for n in names if n in by_lower]


async def replace_mentions(session: AsyncSession, status_id: int, account_ids: Iterable[int]) -> None:
    await session.execute(delete(Mention).where(Mention.status_id == status_id))
    for account_id in dict.fromkeys(account_ids):
        session.add(Mention(status_id=status_id, account_id=account_id))


async def replace_tags(session: AsyncSession, status_id: int, tags: Iterable[Tag]) -> None:
    await session.execute(delete(StatusTag).where(StatusTag.status_id == status_id))
    for tag_id in dict.fromkeys(t.id for t in tags):
        session.add(StatusTag(status_id=status_id, tag_id=tag_id))


async def mentioned_account_ids(session: AsyncSession, status_id: int) -> list[int]:
    return list((await session.execute(select(Mention.account_id).where(Mention.status_id == status_id))).scalars())


# Media


async def attachable_media(
    session: AsyncSession, account_id: int, media_ids: list[int], status_id: int | None = None
) -> dict[int, MediaAttachment]:
    """The account's media among ``media_ids`` that are unattached (or already on ``status_id``)."""
    if not media_ids:
        return {}
    free: ColumnElement[bool] = MediaAttachment.status_id.is_(None)
    if status_id is not None:
        free = or_(free, MediaAttachment.status_id == status_id)
    rows = (
        await session.execute(
            select(MediaAttachment).where(
                MediaAttachment.id.in_(media_ids), MediaAttachment.account_id == account_id, free
            )
        )
    ).scalars()
    return {m.id: m for m in rows}


async def media_of_status(session: AsyncSession, status_id: int) -> list[MediaAttachment]:
    return list(
        (
            await session.execute(
                select(MediaAttachment)
                .where(MediaAttachment.status_id == status_id)
                .order_by(MediaAttachment.position, MediaAttachment.id)
            )
        ).scalars()
    )


async def media_by_ids(session: AsyncSession, media_ids: Iterable[int]) -> dict[int, MediaAttachment]:
    ids = list(set(media_ids))
    if not ids:
        return {}
    rows = (await session.execute(select(MediaAttachment).where(MediaAttachment.id.in_(ids)))).scalars()
    return {m.id: m for m in rows}


async def detach_media(session: AsyncSession, status_id: int, keep: Iterable[int]) -> None:
    await session.execute(
        update(MediaAttachment)
        .where(MediaAttachment.status_id == status_id, MediaAttachment.id.not_in(list(keep)))
        .values(status_id=None)
        .execution_options(synchronize_session="fetch")
    )


async def delete_media_of(session: AsyncSession, status_id: int) -> None:
    await session.execute(
        delete(MediaAttachment).where(MediaAttachment.status_id == status_id).execution_options(
            synchronize_session=False
        )
    )


# Idempotency


async def idempotency_key(session: AsyncSession, account_id: int, key: str) -> IdempotencyKey | None:
    return (
        await session.execute(
            select(IdempotencyKey)
            .where(IdempotencyKey.account_id == account_id, IdempotencyKey.key == key)
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()


# Reblogs


async def reblog_by(session: AsyncSession, account_id: int, status_id: int) -> Status | None:
    return (
        await session.execute(
            select(Status)
            .where(Status.account_id == account_id, Status.reblog_of_id == status_id)
            .order_by(Status.id)
            .limit(1)
        )
    ).scalar_one_or_none()


async def reblogs_of(session: AsyncSession, status_id: int) -> list[tuple[int, int]]:
    """``(reblog id, reblogger id)`` of every reblog of a status."""
    rows = await session.execute(select(Status.id, Status.account_id).where(Status.reblog_of_id == status_id))
    return [(r[0], r[1]) for r in rows.all()]


async def delete_statuses(session: AsyncSession, status_ids: list[int]) -> None:
    """Rows hanging off a status go with it by foreign-key cascade; media are set free."""
    if status_ids:
        await session.execute(
            delete(Status).where(Status.id.in_(status_ids)).execution_options(synchronize_session=False)
        )


async def subtract_statuses_count(session: AsyncSession, counts: dict[int, int]) -> None:
    for account_id, n in counts.items():
        await add_to_counter(session, Account, account_id, "statuses_count", -n)


# Pins


async def pin_count(session: AsyncSession, account_id: int) -> int:
    return int(await session.scalar(select(func.count()).select_from(Pin).where(Pin.account_id == account_id)) or 0)


# Edits


async def edits_of(session: AsyncSession, status_id: int) -> list[StatusEdit]:
    return list(
        (
            await session.execute(
                select(StatusEdit)
                .where(StatusEdit.status_id == status_id)
                .order_by(StatusEdit.created_at, StatusEdit.id)
            )
        ).scalars()
    )


async def has_edits(session: AsyncSession, status_id: int) -> bool:
    return (
        await session.execute(select(StatusEdit.id).where(StatusEdit.status_id == status_id).limit(1))
    ).first() is not None


# Threads


def _shown_to(viewer_id: int | None, status: Any = Status) -> Any:
    return and_(visible_to(viewer_id, status), not_muted_by(viewer_id, status), author_not_suspended(status))


async def ancestors(session: AsyncSession, status: Status, viewer_id: int | None, limit: int) -> list[Status]:
    """Statuses above ``status`` in its thread that the viewer may see, oldest first."""
    if status.in_reply_to_id is None:
        return []
    up = select(Status.id, Status.in_reply_to_id, literal(1).label("depth")).where(
        Status.id == status.in_reply_to_id
    ).cte("ancestors", recursive=True)
    parent = aliased(Status)
    up = up.union_all(
        select(parent.id, parent.in_reply_to_id, (up.c.depth + 1).label("depth"))
        .join(up, parent.id == up.c.in_reply_to_id)
        .where(up.c.depth < limit)
    )
    stmt = (
        select(Status)
        .join(up, Status.id == up.c.id)
        .where(_shown_to(viewer_id))
        .order_by(up.c.depth.desc())
    )
    return list((await session.execute(stmt)).scalars())


async def descendants(session: AsyncSession, status: Status, viewer_id: int | None, limit: int) -> list[Status]:
    """Replies below ``status`` that the viewer may see, in thread order (depth first, oldest reply first)."""
    down = select(Status.id, Status.in_reply_to_id, literal(1).label("depth")).where(
        Status.in_reply_to_id == status.id
    ).cte("descendants", recursive=True)
    child = aliased(Status)
    down = down.union_all(
        select(child.id, child.in_reply_to_id, (down.c.depth + 1).label("depth"))
        .join(down, child.in_reply_to_id == down.c.id)
        .where(down.c.depth < limit)
    )
    tree = (await session.execute(select(down.c.id, down.c.in_reply_to_id).limit(limit))).all()
    if not tree:
        return []
    children: dict[int, list[int]] = {}
    for sid, parent_id in tree:
        children.setdefault(parent_id, []).append(sid)
    order: list[int] = []
    stack = sorted(children.get(status.id, []), reverse=True)
    seen: set[int] = set()
    while stack:
        sid = stack.pop()
        if sid in seen:
            continue
        seen.add(sid)
        order.append(sid)
        stack.extend(sorted(children.get(sid, []), reverse=True))
    shown = {
        s.id: s
        for s in (
            await session.execute(select(Status).where(Status.id.in_(order), _shown_to(viewer_id)))
        ).scalars()
    }
    return [shown[i] for i in order if i in shown]


async def visible_statuses_by_ids(session: AsyncSession, ids: list[int], viewer_id: int | None) -> list[Status]:
    """Statuses among ``ids`` the viewer may see, in the order asked (reblogs need their original visible too)."""
    if not ids:
        return []
    original = aliased(Status)
    stmt = (
        select(Status)
        .outerjoin(original, original.id == Status.reblog_of_id)
        .where(
            Status.id.in_(ids),
            visible_to(viewer_id),
            author_not_suspended(),
            or_(Status.reblog_of_id.is_(None), and_(visible_to(viewer_id, original), author_not_suspended(original))),
        )
    )
    found = {s.id: s for s in (await session.execute(stmt)).scalars()}
    return [found[i] for i in dict.fromkeys(ids) if i in found]


# Lists with their paging ids


async def _paged(session: AsyncSession, stmt: Any, cursor: Any, page: Page) -> list[tuple[Any, int]]:
    rows = (await session.execute(paginate(stmt, cursor, page))).all()
    return [(r[0], r[1]) for r in newest_first(list(rows), page)]


async def favourited_by(session: AsyncSession, status_id: int, page: Page) -> list[tuple[Account, int]]:
    stmt = (
        select(Account, Favourite.id)
        .join(Favourite, Favourite.account_id == Account.id)
        .where(Favourite.status_id == status_id, Account.suspended_at.is_(None))
    )
    return await _paged(session, stmt, Favourite.id, page)


async def reblogged_by(session: AsyncSession, status_id: int, page: Page) -> list[tuple[Account, int]]:
    stmt = (
        select(Account, Status.id)
        .join(Status, Status.account_id == Account.id)
        .where(Status.reblog_of_id == status_id, Account.suspended_at.is_(None))
    )
    return await _paged(session, stmt, Status.id, page)


async def favourites_of(session: AsyncSession, account_id: int, page: Page) -> list[tuple[Status, int]]:
    stmt = (
        select(Status, Favourite.id)
        .join(Favourite, Favourite.status_id == Status.id)
        .where(Favourite.account_id == account_id, visible_to(account_id), author_not_suspended())
    )
    return await _paged(session, stmt, Favourite.id, page)


async def bookmarks_of(session: AsyncSession, account_id: int, page: Page) -> list[tuple[Status, int]]:
    stmt = (
        select(Status, Bookmark.id)
        .join(Bookmark, Bookmark.status_id == Status.id)
        .where(Bookmark.account_id == account_id, visible_to(account_id), author_not_suspended())
    )
    return await _paged(session, stmt, Bookmark.id, page)
