"""Lists and their members, and the timeline of a list read straight from statuses."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, delete, exists, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from starling.domain.paging import Page
from starling.models import Account, Follow, List, ListAccount, Status
from starling.repositories.paging import newest_first, paginate
from starling.repositories.visibility import author_not_suspended, not_muted_by, visible_to

# Statuses a list shows: those that reach followers' feeds (never direct messages).
LISTED_VISIBILITIES = ("public", "unlisted", "private")


async def get_own_list(session: AsyncSession, owner_id: int, list_id: int) -> List | None:
    row: List | None = await session.scalar(select(List).where(List.id == list_id, List.account_id == owner_id))
    return row


async def lists_of(session: AsyncSession, owner_id: int) -> list[List]:
    return list((await session.execute(select(List).where(List.account_id == owner_id).order_by(List.id))).scalars())


async def count_lists(session: AsyncSession, owner_id: int) -> int:
    return int(await session.scalar(select(func.count()).select_from(List).where(List.account_id == owner_id)) or 0)


async def lists_containing(session: AsyncSession, owner_id: int, account_id: int) -> list[List]:
    """The owner's lists that have ``account_id`` as a member."""
    stmt = (
        select(List)
        .join(ListAccount, ListAccount.list_id == List.id)
        .where(List.account_id == owner_id, ListAccount.account_id == account_id)
        .order_by(List.id)
    )
    return list((await session.execute(stmt)).scalars())


async def delete_list(session: AsyncSession, list_id: int) -> None:
    await session.execute(delete(ListAccount).where(ListAccount.list_id == list_id))
    await session.execute(delete(List).where(List.id == list_id))


async def follow_ids(session: AsyncSession, owner_id: int, target_ids: Sequence[int]) -> dict[int, int]:
    """Follow row id by followed account, for those of ``target_ids`` the owner follows."""
    if not target_ids:
        return {}
    rows = await session.execute(
        select(Follow.target_account_id, Follow.id).where(
            Follow.account_id == owner_id, Follow.target_account_id.in_(list(target_ids))
        )
    )
    return {target: follow_id for target, follow_id in rows.all()}


async def member_ids(session: AsyncSession, list_id: int, account_ids: Sequence[int]) -> set[int]:
    """Which of ``account_ids`` are already members of the list."""
    if not account_ids:
        return set()
    rows = await session.execute(
        select(ListAccount.account_id).where(ListAccount.list_id == list_id, ListAccount.account_id.in_(account_ids))
    )
    return set(rows.scalars())


async def remove_members(session: AsyncSession, list_id: int, account_ids: Sequence[int]) -> None:
    if account_ids:
        await session.execute(
            delete(ListAccount).where(ListAccount.list_id == list_id, ListAccount.account_id.in_(list(account_ids)))
        )


async def members_page(session: AsyncSession, list_id: int, page: Page | None) -> list[tuple[int, Account]]:
    """Members (not suspended) with their membership ids, newest first; every member when ``page`` is None."""
    stmt: Any = (
        select(ListAccount.id, Account)
        .join(Account, Account.id == ListAccount.account_id)
        .where(ListAccount.list_id == list_id, Account.suspended_at.is_(None))
    )
    if page is None:
        rows = list((await session.execute(stmt.order_by(ListAccount.id.desc()))).all())
        return [(r[0], r[1]) for r in rows]
    rows = list((await session.execute(paginate(stmt, ListAccount.id, page))).all())
    return [(r[0], r[1]) for r in newest_first(rows, page)]


def _reply_shown(the_list: List) -> ColumnElement[bool]:
    """The list's replies policy (as Mastodon's list feed applies it): a reply to someone else shows
    when it answers the owner, or someone the owner follows ("followed"), or a member ("list")."""
    owner = the_list.account_id
    target = Status.in_reply_to_account_id
    if the_list.replies_policy == "followed":
        policy: ColumnElement[bool] = exists().where(Follow.account_id == owner, Follow.target_account_id == target)
    elif the_list.replies_policy == "list":
        member = aliased(ListAccount)
        policy = exists().where(member.list_id == the_list.id, member.account_id == target)
    else:
        policy = false()
    return or_(
        Status.in_reply_to_id.is_(None),
        target == Status.account_id,
        target == owner,
        policy,
    )


def _reblog_shown(owner: int, original: Any) -> ColumnElement[bool]:
    """A member's reblog shows unless the owner hides that member's reblogs, and only when the owner may
    see the reblogged status."""
    return or_(
        Status.reblog_of_id.is_(None),
        (
            original.id.is_not(None)
            & visible_to(owner, original)
            & not_muted_by(owner, original)
            & author_not_suspended(original)
            & or_(
                Status.account_id == owner,
                exists().where(
                    Follow.account_id == owner,
                    Follow.target_account_id == Status.account_id,
                    Follow.show_reblogs.is_(True),
                ),
            )
        ),
    )


async def list_timeline(session: AsyncSession, the_list: List, page: Page) -> list[Status]:
    """Statuses of the list's members the owner may see, filtered as the owner's home feed is."""
    owner = the_list.account_id
    original = aliased(Status)
    members = select(ListAccount.account_id).where(ListAccount.list_id == the_list.id)
    stmt = (
        select(Status)
        .outerjoin(original, original.id == Status.reblog_of_id)
        .where(
            Status.account_id.in_(members),
            Status.visibility.in_(LISTED_VISIBILITIES),
            visible_to(owner),
            not_muted_by(owner),
            author_not_suspended(),
            _reply_shown(the_list),
            _reblog_shown(owner, original),
        )
    )
    rows = list((await session.execute(paginate(stmt, Status.id, page))).scalars())
    return newest_first(rows, page)
