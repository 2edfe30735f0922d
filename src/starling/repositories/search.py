"""Search: accounts and hashtags by prefix, statuses through the full-text index.

The full-text index is the one place where the two databases differ: SQLite has the FTS5 table
``statuses_fts`` (rowid = status id, kept in sync by triggers), PostgreSQL a GIN index on
``to_tsvector('simple', spoiler_text || ' ' || text)``. Both are created by migration 0001.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    bindparam,
    case,
    column,
    exists,
    false,
    func,
    literal_column,
    or_,
    select,
    table,
)
from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.paging import Page
from starling.models import Account, Block, Follow, Status, Tag, User
from starling.repositories.paging import newest_first, paginate
from starling.repositories.visibility import author_not_suspended, visible_to

_FTS = table("statuses_fts", column("rowid"))


def like_prefix(value: str) -> str:
    """A LIKE pattern matching strings that start with ``value`` (its wildcards taken literally)."""
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def fts5_query(text: str) -> str | None:
    """User text as an FTS5 query that cannot be a syntax error: every word a quoted string
    (quotes doubled), all of them required. None when there is nothing to look for."""
    words = [w for w in text.split() if any(ch.isalnum() for ch in w)]
    if not words:
        return None
    return " ".join('"' + w.replace('"', '""') + '"' for w in words)


def _full_text_match(session: AsyncSession, text: str) -> ColumnElement[bool] | None:
    if session.get_bind().dialect.name == "postgresql":
        if not any(ch.isalnum() for ch in text):
            return None
        # Spelled exactly as the index expression (constants inline), so PostgreSQL can use the GIN index.
        simple: ColumnElement[str] = literal_column("'simple'")
        document = func.to_tsvector(
            simple, Status.spoiler_text.op("||")(literal_column("' '")).op("||")(Status.text)
        )
        matched: ColumnElement[bool] = document.op("@@")(
            func.plainto_tsquery(simple, bindparam("search_text", text))
        )
        return matched
    query = fts5_query(text)
    if query is None:
        return None
    matching_ids = select(_FTS.c.rowid).where(
        literal_column("statuses_fts").op("MATCH")(bindparam("search_text", query))
    )
    return Status.id.in_(matching_ids)


async def search_statuses(
    session: AsyncSession,
    text: str,
    viewer_id: int,
    page: Page,
    *,
    offset: int = 0,
    account_id: int | None = None,
) -> list[Status]:
    """Statuses (not reblogs) whose text or content warning holds every word, visible to the viewer."""
    match = _full_text_match(session, text)
    if match is None:
        return []
    stmt: Any = select(Status).where(
        match, Status.reblog_of_id.is_(None), visible_to(viewer_id), author_not_suspended()
    )
    if account_id is not None:
        stmt = stmt.where(Status.account_id == account_id)
    stmt = paginate(stmt, Status.id, page)
    if offset:
        stmt = stmt.offset(offset)
    rows = list((await session.execute(stmt)).scalars())
    return newest_first(rows, page)


@dataclass(frozen=True)
class AccountQuery:
    """``username`` (without ``@``), with ``domain`` when the query named one (``""`` = this server)."""

    username: str
    domain: str | None = None


def _not_blocked(viewer_id: int) -> ColumnElement[bool]:
    return ~exists().where(
        or_(
            and_(Block.account_id == viewer_id, Block.target_account_id == Account.id),
            and_(Block.account_id == Account.id, Block.target_account_id == viewer_id),
        )
    )


async def search_accounts(
    session: AsyncSession,
    query: AccountQuery,
    viewer_id: int | None,
    *,
    following: bool,
    limit: int,
    offset: int = 0,
) -> list[Account]:
    """Exact matches first, then accounts the viewer follows, then the most followed."""
    username = query.username.lower()
    if not username and query.domain is None:
        return []
    if query.domain is not None:
        exact = and_(Account.username_lower == username, Account.domain_key == query.domain)
        same_domain = (
            Account.domain_key.like(like_prefix(query.domain), escape="\\") if query.domain
            else Account.domain_key == ""
        )
        matches = and_(Account.username_lower.like(like_prefix(username), escape="\\"), same_domain)
    else:
        exact = and_(Account.username_lower == username, Account.domain_key == "")
        display = func.lower(Account.display_name)
        matches = or_(
            Account.username_lower.like(like_prefix(username), escape="\\"),
            display.like(like_prefix(username), escape="\\"),
            display.like("% " + like_prefix(username), escape="\\"),
        )
    pending = exists().where(User.account_id == Account.id, User.approved.is_(False))
    stmt = select(Account).where(matches, Account.suspended_at.is_(None), ~pending)
    order: list[Any] = [case((exact, 0), else_=1)]
    if viewer_id is not None:
        followed = exists().where(Follow.account_id == viewer_id, Follow.target_account_id == Account.id)
        # An exact match is always found (so a blocked account can be found to unblock it).
        stmt = stmt.where(or_(exact, _not_blocked(viewer_id)))
        if following:
            stmt = stmt.where(followed)
        order.append(case((followed, 0), else_=1))
    elif following:
        stmt = stmt.where(false())
    order += [Account.followers_count.desc(), Account.username_lower, Account.id]
    stmt = stmt.order_by(*order).limit(limit).offset(offset)
    return list((await session.execute(stmt)).scalars())


async def search_tags(session: AsyncSession, name: str, *, limit: int, offset: int = 0) -> list[Tag]:
    """Tags whose normalised name starts with ``name``: the exact one first, then the shortest."""
    if not name:
        return []
    stmt = (
        select(Tag)
        .where(Tag.name_lower.like(like_prefix(name), escape="\\"))
        .order_by(case((Tag.name_lower == name, 0), else_=1), func.length(Tag.name_lower), Tag.name_lower)
        .limit(limit)
        .offset(offset)
    )
    return list((await session.execute(stmt)).scalars())
