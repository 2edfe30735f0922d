"""Finding accounts by name: ``user``, ``@user``, ``user@domain`` or the start of a display name."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.errors import Unauthorized, Unprocessable
from starling.models import Account
from starling.repositories import search
from starling.repositories.search import AccountQuery


def parse_account_query(q: str, local_domain: str) -> AccountQuery:
    """``@user@domain`` → user on domain (``""`` for this server); without ``@domain`` any server."""
    text = q.strip().removeprefix("@")
    username, at, domain = text.partition("@")
    if not at:
        return AccountQuery(username=username)
    domain = domain.strip().lower()
    return AccountQuery(username=username, domain="" if domain == local_domain.lower() else domain)


def check_anonymous_use(viewer: Account | None, *, offset: int, resolve: bool) -> None:
    """As Mastodon: paging through results and resolving remote accounts need a signed-in user."""
    if viewer is not None:
        return
    if offset:
        raise Unauthorized("Search queries pagination is not supported without authentication")
    if resolve:
        raise Unauthorized("Search queries that resolve remote resources are not supported without authentication")


async def search_accounts(
    session: AsyncSession,
    viewer: Account | None,
    q: str | None,
    local_domain: str,
    *,
    limit: int,
    offset: int = 0,
    following: bool = False,
    resolve: bool = False,
) -> list[Account]:
    if q is None or not q.strip():
        raise Unprocessable("Validation failed: q can't be blank")
    check_anonymous_use(viewer, offset=offset, resolve=resolve)
    return await search.search_accounts(
        session, parse_account_query(q, local_domain), viewer.id if viewer else None,
        following=following, limit=limit, offset=offset,
    )
