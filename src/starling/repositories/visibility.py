"""The SQL form of :func:`starling.domain.visibility.may_see`, for lists of statuses."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, exists, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from starling.domain.visibility import OPEN, may_see
from starling.models import Account, Block, Follow, Mention, Mute, Status
from starling.models.base import utcnow
from starling.repositories.relationships import blocked_either_way, is_following


def visible_to(viewer_id: int | ColumnElement[int] | None, status: Any = Status) -> ColumnElement[bool]:
    """Condition: ``viewer_id`` may see the row of ``status`` (a Status entity or alias). ``viewer_id`` may
    be a bound parameter, for a statement built once and run for many viewers."""
    if viewer_id is None:
        anyone: ColumnElement[bool] = status.visibility.in_(OPEN)
        return anyone
    not_blocked = ~exists().where(
        or_(
            and_(Block.account_id == viewer_id, Block.target_account_id == status.account_id),
            and_(Block.account_id == status.account_id, Block.target_account_id == viewer_id),
        )
    )
    mentioned = exists().where(Mention.status_id == status.id, Mention.account_id == viewer_id)
    follows = exists().where(Follow.account_id == viewer_id, Follow.target_account_id == status.account_id)
    return or_(
        status.account_id == viewer_id,
        and_(
            not_blocked,
            or_(
                status.visibility.in_(OPEN),
                and_(status.visibility == "private", or_(follows, mentioned)),
                and_(status.visibility == "direct", mentioned),
            ),
        ),
    )


def not_muted_by(
    viewer_id: int | ColumnElement[int] | None, status: Any = Status, now: Any = None
) -> ColumnElement[bool]:
    """Condition: the author is not muted (unexpired) by the viewer. For timelines, not for direct GETs.
    ``now`` (default: the current time) may be a bound parameter."""
    if viewer_id is None:
        return true()
    return ~exists().where(
        Mute.account_id == viewer_id,
        Mute.target_account_id == status.account_id,
        or_(Mute.expires_at.is_(None), Mute.expires_at > (utcnow() if now is None else now)),
    )


def author_not_suspended(status: Any = Status) -> ColumnElement[bool]:
    """Written as a per-row primary-key lookup: as ``NOT EXISTS`` PostgreSQL plans an anti-join that
    scans every suspended account on each timeline read."""
    suspended_at = select(Account.suspended_at).where(Account.id == status.account_id).scalar_subquery()
    return suspended_at.is_(None)


async def can_see(session: AsyncSession, status: Status, viewer_id: int | None) -> bool:
    """The same rule for one status already loaded (used by GET, context, actions on a status)."""
    author = await session.get(Account, status.account_id)
    if author is None or author.suspended_at is not None:
        return False
    if viewer_id is None or viewer_id == status.account_id:
        return may_see(
            visibility=status.visibility, author_id=status.account_id, viewer_id=viewer_id,
            viewer_follows_author=False, viewer_is_mentioned=False, blocked_either_way=False,
        )
    mentioned = bool(
        await session.scalar(
            select(exists().where(Mention.status_id == status.id, Mention.account_id == viewer_id))
        )
    ) if status.visibility not in OPEN else False
    follows = (
        await is_following(session, viewer_id, status.account_id) if status.visibility == "private" else False
    )
    return may_see(
        visibility=status.visibility,
        author_id=status.account_id,
        viewer_id=viewer_id,
        viewer_follows_author=follows,
        viewer_is_mentioned=mentioned,
        blocked_either_way=await blocked_either_way(session, viewer_id, status.account_id),
    )

