"""Applying a :class:`~starling.domain.paging.Page` to a query ordered by an id column."""

from __future__ import annotations

from typing import Any, TypeVarTuple

from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute

from starling.domain.paging import Page

Ts = TypeVarTuple("Ts")


def paginate(
    stmt: Select[*Ts], column: InstrumentedAttribute[int] | Any, page: Page
) -> Select[*Ts]:
    if page.max_id is not None:
        stmt = stmt.where(column < page.max_id)
    if page.since_id is not None:
        stmt = stmt.where(column > page.since_id)
    if page.min_id is not None:
        stmt = stmt.where(column > page.min_id).order_by(column.asc())
    else:
        stmt = stmt.order_by(column.desc())
    return stmt.limit(page.limit)


def newest_first(rows: list[Any], page: Page) -> list[Any]:
    """Rows fetched by :func:`paginate` in the order Mastodon returns them."""
    return list(reversed(rows)) if page.ascending else rows
