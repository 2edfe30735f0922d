"""Home feeds (materialised by fan-out on write) and the timelines read from statuses.

Writing a feed is always one set-based ``INSERT … SELECT … ON CONFLICT DO NOTHING``: however many
followers an author has, a fan-out is one statement, and running it twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeAlias

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    CompoundSelect,
    Delete,
    Integer,
    Select,
    Table,
    and_,
    bindparam,
    delete,
    exists,
    literal,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from starling.domain.paging import Page
from starling.models import (
    Account,
    Block,
    Follow,
    HomeFeedEntry,
    List,
    ListAccount,
    Mention,
    Mute,
    Pin,
    Status,
    StatusTag,
    Tag,
    TagFollow,
)
from starling.models.base import utcnow
from starling.repositories.paging import newest_first, paginate
from starling.repositories.visibility import author_not_suspended, not_muted_by, visible_to

# How many entries a home feed keeps (as Mastodon's FeedManager::MAX_ITEMS).
FEED_SIZE = 800
# How many of a newly followed account's statuses are copied into the follower's feed.
MERGE_SIZE = 40
FEED_COLUMNS = ["account_id", "status_id", "author_id"]

AnySelect: TypeAlias = Select[*tuple[Any, ...]]
AnyCompound: TypeAlias = CompoundSelect[*tuple[Any, ...]]


def insert_ignoring_duplicates(session: AsyncSession, select_stmt: AnySelect | AnyCompound) -> Any:
    """``INSERT INTO home_feed … SELECT … ON CONFLICT DO NOTHING`` in the session's dialect."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(HomeFeedEntry).from_select(FEED_COLUMNS, select_stmt).on_conflict_do_nothing()
    return sqlite.insert(HomeFeedEntry).from_select(FEED_COLUMNS, select_stmt).on_conflict_do_nothing()


def _id(value: int) -> ColumnElement[int]:
    return literal(value, BigInteger)


def _active_mute(account_id: Any, target_ids: Any) -> ColumnElement[bool]:
    return exists().where(
        Mute.account_id == account_id,
        Mute.target_account_id.in_(target_ids),
        or_(Mute.expires_at.is_(None), Mute.expires_at > utcnow()),
    )


def _excluded_by_relationships(receiver: Any, authors: list[Any]) -> ColumnElement[bool]:
    """The receiver blocks or mutes one of ``authors``, or one of them blocks the receiver."""
    return or_(
        exists().where(Block.account_id == receiver, Block.target_account_id.in_(authors)),
        exists().where(Block.account_id.in_(authors), Block.target_account_id == receiver),
        _active_mute(receiver, authors),
    )


def _reply_reaches(status: Status, receiver: Any) -> ColumnElement[bool]:
    """A reply to someone else reaches only receivers who follow (or are) the person replied to."""
    target = status.in_reply_to_account_id
    if status.in_reply_to_id is None or target is None or target == status.account_id:
        return true()
    other = aliased(Follow)
    return or_(
        receiver == target,
        exists().where(other.account_id == receiver, other.target_account_id == target),
    )


def _in_exclusive_list(receiver: Any, author: int) -> ColumnElement[bool]:
    """The receiver has the author in one of its exclusive lists: the author's statuses stay out of its home.

    Uncorrelated, so the owners of such lists are found once per fan-out, not once per follower."""
    owners = (
        select(List.account_id)
        .join(ListAccount, ListAccount.list_id == List.id)
        .where(ListAccount.account_id == author, List.exclusive.is_(True))
    )
    in_list: ColumnElement[bool] = receiver.in_(owners)
    return in_list


def _tag_followers(status: Status) -> AnySelect:
    """Local accounts following one of the status's tags, less the author and those who block or mute the
    author or someone the status mentions, or whom the author blocks (as Mastodon's tag feed filter)."""
    author = status.account_id
    receiver = TagFollow.account_id
    mentioned = select(Mention.account_id).where(Mention.status_id == status.id)
    return (
        select(receiver, _id(status.id), _id(author))
        .join(StatusTag, StatusTag.tag_id == TagFollow.tag_id)
        .join(Account, Account.id == receiver)
        .where(
            StatusTag.status_id == status.id,
            Account.domain.is_(None),
            receiver != author,
            ~_excluded_by_relationships(receiver, [author]),
            ~exists().where(Block.account_id == receiver, Block.target_account_id.in_(mentioned)),
            ~_active_mute(receiver, mentioned),
        )
    )


def reaches_tag_followers(status: Status) -> bool:
    """Only original public statuses reach those who follow their tags (as Mastodon)."""
    return status.visibility == "public" and status.reblog_of_id is None


async def fan_out(session: AsyncSession, status: Status, original: Status | None, *, to_author: bool) -> None:
    """Put ``status`` into the feeds of the local accounts it reaches (and its author's, if ``to_author``):
    followers, and for a public status those following one of its tags. One statement; an account reached
    both ways gets one entry."""
    author = status.account_id
    authors = [author] if original is None else sorted({author, original.account_id})
    if status.visibility == "direct":
        receiver: Any = Mention.account_id
        others: AnySelect = (
            select(receiver, _id(status.id), _id(author))
            .join(Account, Account.id == receiver)
            .where(Mention.status_id == status.id, receiver != author, Account.domain.is_(None))
        )
    else:
        receiver = Follow.account_id
        others = (
            select(receiver, _id(status.id), _id(author))
            .join(Account, Account.id == receiver)
            .where(
                Follow.target_account_id == author,
                Account.domain.is_(None),
                _reply_reaches(status, receiver),
                ~_in_exclusive_list(receiver, author),
            )
        )
        if original is not None:
            others = others.where(
                Follow.show_reblogs.is_(True),
                ~exists().where(HomeFeedEntry.account_id == receiver, HomeFeedEntry.status_id == original.id),
            )
    others = others.where(~_excluded_by_relationships(receiver, authors))
    parts: list[AnySelect] = [others]
    if to_author:
        parts.insert(0, select(_id(author), _id(status.id), _id(author)))
    if reaches_tag_followers(status):
        parts.append(_tag_followers(status))
    rows: AnySelect | AnyCompound = parts[0] if len(parts) == 1 else union_all(*parts)
    await session.execute(insert_ignoring_duplicates(session, rows))


async def remove_status(session: AsyncSession, status_id: int) -> None:
    """Remove a status, and any reblog of it, from every feed."""
    reblogs = select(Status.id).where(Status.reblog_of_id == status_id)
    await session.execute(
        delete(HomeFeedEntry).where(or_(HomeFeedEntry.status_id == status_id, HomeFeedEntry.status_id.in_(reblogs)))
    )


async def merge_account(session: AsyncSession, account_id: int, target_id: int, show_reblogs: bool) -> None:
    """Copy the newest statuses of ``target_id`` that ``account_id`` may see into its feed."""
    original = aliased(Status)
    stmt = (
        select(_id(account_id), Status.id, Status.account_id)
        .outerjoin(original, original.id == Status.reblog_of_id)
        .where(
            Status.account_id == target_id,
            Status.visibility.in_(("public", "unlisted", "private")),
            visible_to(account_id),
            or_(
                Status.in_reply_to_id.is_(None),
                Status.in_reply_to_account_id.is_(None),
                Status.in_reply_to_account_id == target_id,
                Status.in_reply_to_account_id == account_id,
                exists().where(Follow.account_id == account_id,
                               Follow.target_account_id == Status.in_reply_to_account_id),
            ),
        )
        .order_by(Status.id.desc())
        .limit(MERGE_SIZE)
    )
    if show_reblogs:
        stmt = stmt.where(
            or_(
                Status.reblog_of_id.is_(None),
                and_(
                    original.id.is_not(None),
                    visible_to(account_id, original),
                    ~exists().where(HomeFeedEntry.account_id == account_id, HomeFeedEntry.status_id == original.id),
                    ~_excluded_by_relationships(account_id, [original.account_id]),
                ),
            )
        )
    else:
        stmt = stmt.where(Status.reblog_of_id.is_(None))
    await session.execute(insert_ignoring_duplicates(session, stmt))


async def unmerge_account(session: AsyncSession, account_id: int, target_id: int) -> None:
    await session.execute(
        delete(HomeFeedEntry).where(HomeFeedEntry.account_id == account_id, HomeFeedEntry.author_id == target_id)
    )


async def find_tag_ids(session: AsyncSession, names: Sequence[str]) -> dict[str, int]:
    """Tag ids by normalised (lower-case) name; unknown names are missing from the result."""
    if not names:
        return {}
    rows = await session.execute(select(Tag.name_lower, Tag.id).where(Tag.name_lower.in_(set(names))))
    return {name: tag_id for name, tag_id in rows.all()}


def _feed_cutoff(account_id: Any) -> Any:
    """The newest status id that no longer fits in the account's feed (None while the feed is not full)."""
    h = aliased(HomeFeedEntry)
    return (
        select(h.status_id)
        .where(h.account_id == account_id)
        .order_by(h.status_id.desc())
        .offset(FEED_SIZE)
        .limit(1)
        .scalar_subquery()
    )


async def trim_feeds(session: AsyncSession, account_ids: AnySelect | AnyCompound) -> int:
    """Trim each feed among ``account_ids`` (a select of one column) to its newest FEED_SIZE entries.

    One query finds the cutoff of every listed feed; one batched DELETE applies them.
    """
    sub = account_ids.subquery()
    account = sub.c[0]
    rows = (await session.execute(select(account, _feed_cutoff(account)))).all()
    cuts = [{"a": a, "c": c} for a, c in rows if c is not None]
    if not cuts:
        return 0
    table = HomeFeedEntry.__table__
    assert isinstance(table, Table)
    stmt: Delete = delete(table).where(table.c.account_id == bindparam("a"), table.c.status_id <= bindparam("c"))
    conn = await session.connection()
    await conn.execute(stmt, cuts)
    return len(cuts)


def follower_bucket(author_id: int, bucket: int, buckets: int) -> AnySelect | AnyCompound:
    """The author and their local followers whose id falls in ``bucket`` (of ``buckets``)."""
    followers = (
        select(Follow.account_id)
        .join(Account, Account.id == Follow.account_id)
        .where(Follow.target_account_id == author_id, Account.domain.is_(None), Follow.account_id % buckets == bucket)
    )
    if author_id % buckets == bucket:
        return union_all(select(_id(author_id)), followers)
    return followers


def tag_follower_bucket(status_id: int, bucket: int, buckets: int) -> AnySelect:
    """Local accounts following one of the status's tags whose id falls in ``bucket`` (of ``buckets``)."""
    return (
        select(TagFollow.account_id)
        .distinct()
        .join(StatusTag, StatusTag.tag_id == TagFollow.tag_id)
        .join(Account, Account.id == TagFollow.account_id)
        .where(StatusTag.status_id == status_id, Account.domain.is_(None), TagFollow.account_id % buckets == bucket)
    )


# ---- reading -----------------------------------------------------------------------------------


def _reblog_original_visible(viewer_id: int | ColumnElement[int] | None, original: Any,
                              now: Any = None) -> ColumnElement[bool]:
    return or_(
        Status.reblog_of_id.is_(None),
        and_(
            original.id.is_not(None),
            visible_to(viewer_id, original),
            not_muted_by(viewer_id, original, now),
            author_not_suspended(original),
        ),
    )


# The home timeline is the most frequent read: its statement is built once per page shape (which of
# max_id / since_id / min_id are given) with bound parameters, instead of a new expression tree per request.
_HOME_STATEMENTS: dict[tuple[bool, bool, bool], AnySelect] = {}


def _home_statement(page: Page) -> AnySelect:
    shape = (page.max_id is not None, page.since_id is not None, page.min_id is not None)
    stmt = _HOME_STATEMENTS.get(shape)
    if stmt is not None:
        return stmt
    viewer = bindparam("viewer", type_=BigInteger)
    now = bindparam("now", type_=Mute.expires_at.type)
    original = aliased(Status)
    key = HomeFeedEntry.status_id
    stmt = (
        select(Status)
        .join(HomeFeedEntry, HomeFeedEntry.status_id == Status.id)
        .outerjoin(original, original.id == Status.reblog_of_id)
        .where(
            HomeFeedEntry.account_id == viewer,
            visible_to(viewer),
            not_muted_by(viewer, Status, now),
            author_not_suspended(),
            _reblog_original_visible(viewer, original, now),
        )
    )
    if shape[0]:
        stmt = stmt.where(key < bindparam("max_id", type_=BigInteger))
    if shape[1]:
        stmt = stmt.where(key > bindparam("since_id", type_=BigInteger))
    if shape[2]:
        stmt = stmt.where(key > bindparam("min_id", type_=BigInteger)).order_by(key.asc())
    else:
        stmt = stmt.order_by(key.desc())
    stmt = stmt.limit(bindparam("limit", type_=Integer))
    _HOME_STATEMENTS[shape] = stmt
    return stmt


async def home_timeline(session: AsyncSession, viewer_id: int, page: Page) -> list[Status]:
    params: dict[str, Any] = {"viewer": viewer_id, "now": utcnow(), "limit": page.limit}
    for name in ("max_id", "since_id", "min_id"):
        value = getattr(page, name)
        if value is not None:
            params[name] = value
    rows = list((await session.execute(_home_statement(page), params)).scalars())
    return newest_first(rows, page)


def _public_filters(
    viewer_id: int | None, *, local: bool, remote: bool, only_media: bool
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [
        Status.visibility == "public",
        Status.reblog_of_id.is_(None),
        author_not_suspended(),
    ]
    if local and not remote:
        conditions.append(Status.local.is_(True))
    elif remote and not local:
        conditions.append(Status.local.is_(False))
    if only_media:
        conditions.append(Status.has_media.is_(True))
    if viewer_id is not None:
        conditions += [visible_to(viewer_id), not_muted_by(viewer_id)]
    return conditions


async def public_timeline(
    session: AsyncSession, viewer_id: int | None, page: Page, *, local: bool, remote: bool, only_media: bool
) -> list[Status]:
    """Public statuses, without reblogs and without replies to others (self-replies stay)."""
    stmt = select(Status).where(
        *_public_filters(viewer_id, local=local, remote=remote, only_media=only_media),
        _not_reply_to_others(),
    )
    rows = list((await session.execute(paginate(stmt, Status.id, page))).scalars())
    return newest_first(rows, page)


async def tag_timeline(
    session: AsyncSession,
    viewer_id: int | None,
    page: Page,
    *,
    any_tags: Sequence[int],
    all_tags: Sequence[int],
    none_tags: Sequence[int],
    local: bool,
    remote: bool,
    only_media: bool,
) -> list[Status]:
    """Public statuses carrying any of ``any_tags``, every one of ``all_tags`` and none of ``none_tags``."""
    conditions = _public_filters(viewer_id, local=local, remote=remote, only_media=only_media)
    conditions.append(Status.id.in_(select(StatusTag.status_id).where(StatusTag.tag_id.in_(any_tags))))
    for tag_id in all_tags:
        conditions.append(exists().where(StatusTag.status_id == Status.id, StatusTag.tag_id == tag_id))
    if none_tags:
        conditions.append(~exists().where(StatusTag.status_id == Status.id, StatusTag.tag_id.in_(none_tags)))
    rows = list((await session.execute(paginate(select(Status).where(*conditions), Status.id, page))).scalars())
    return newest_first(rows, page)


def _not_reply_to_others() -> ColumnElement[bool]:
    return or_(
        Status.in_reply_to_id.is_(None),
        Status.in_reply_to_account_id.is_(None),
        Status.in_reply_to_account_id == Status.account_id,
    )


async def account_statuses(
    session: AsyncSession,
    account_id: int,
    viewer_id: int | None,
    page: Page,
    *,
    exclude_replies: bool,
    exclude_reblogs: bool,
    only_media: bool,
    tag_id: int | None,
) -> list[Status]:
    stmt = _account_statuses_query(account_id, viewer_id, exclude_replies=exclude_replies,
                                   exclude_reblogs=exclude_reblogs, only_media=only_media, tag_id=tag_id)
    rows = list((await session.execute(paginate(stmt, Status.id, page))).scalars())
    return newest_first(rows, page)


async def pinned_statuses(
    session: AsyncSession, account_id: int, viewer_id: int | None, page: Page, *, only_media: bool,
    tag_id: int | None,
) -> list[tuple[int, Status]]:
    """The account's pinned statuses with their pin ids (the paging cursor), newest pin first."""
    stmt = _account_statuses_query(account_id, viewer_id, exclude_replies=False, exclude_reblogs=True,
                                   only_media=only_media, tag_id=tag_id)
    pinned = stmt.add_columns(Pin.id).join(Pin, and_(Pin.status_id == Status.id, Pin.account_id == account_id))
    rows = [(pin_id, status) for status, pin_id in (await session.execute(paginate(pinned, Pin.id, page))).all()]
    return newest_first(rows, page)


def _account_statuses_query(
    account_id: int,
    viewer_id: int | None,
    *,
    exclude_replies: bool,
    exclude_reblogs: bool,
    only_media: bool,
    tag_id: int | None,
) -> AnySelect:
    original = aliased(Status)
    stmt = (
        select(Status)
        .outerjoin(original, original.id == Status.reblog_of_id)
        .where(Status.account_id == account_id, visible_to(viewer_id), _reblog_original_visible(viewer_id, original))
    )
    if exclude_replies:
        stmt = stmt.where(_not_reply_to_others())
    if exclude_reblogs:
        stmt = stmt.where(Status.reblog_of_id.is_(None))
    if only_media:
        stmt = stmt.where(Status.has_media.is_(True))
    if tag_id is not None:
        stmt = stmt.where(exists().where(StatusTag.status_id == Status.id, StatusTag.tag_id == tag_id))
    return stmt
