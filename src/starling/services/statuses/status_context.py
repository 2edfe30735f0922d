"""The thread around a status: what it replies to and the replies below it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from starling.models import Status
from starling.repositories import status_queries as q
from starling.services.statuses.lookup import visible_status

MAX_ANCESTORS = 40
MAX_DESCENDANTS = 4096


@dataclass
class Context:
    ancestors: list[Status]
    descendants: list[Status]


async def status_context(session: AsyncSession, status_id: int, viewer_id: int | None) -> Context:
    status = await visible_status(session, status_id, viewer_id)
    return Context(
        ancestors=await q.ancestors(session, status, viewer_id, MAX_ANCESTORS),
        descendants=await q.descendants(session, status, viewer_id, MAX_DESCENDANTS),
    )
