"""A request context for endpoints that never look at a token.

Server information and discovery answer everyone the same way; a stale or revoked token a client
still sends must not turn them into a 401.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.requests import Request

from starling.domain.errors import StarlingError
from starling.web.deps import Ctx, get_container


async def anonymous(request: Request) -> AsyncIterator[Ctx]:
    container = get_container(request)
    async with container.sessions() as session:
        ctx = Ctx(request=request, container=container, session=session, viewer=None)
        try:
            yield ctx
        except StarlingError:
            await session.rollback()
            raise
