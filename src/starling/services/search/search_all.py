"""Mastodon's search: accounts, hashtags and (for signed-in users) statuses, in one query."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.errors import Unprocessable
from starling.domain.paging import Page
from starling.domain.text import normalize_tag
from starling.models import Account, Status, Tag
from starling.repositories import search
from starling.services.search.search_accounts import check_anonymous_use, parse_account_query

TYPES = ("accounts", "hashtags", "statuses")


@dataclass(frozen=True)
class SearchQuery:
    q: str | None
    type: str | None = None
    page: Page = field(default_factory=Page)
    offset: int = 0
    resolve: bool = False
    following: bool = False
    account_id: int | None = None


@dataclass
class SearchResults:
    accounts: list[Account] = field(default_factory=list)
    statuses: list[Status] = field(default_factory=list)
    hashtags: list[Tag] = field(default_factory=list)


async def search_all(
    session: AsyncSession, viewer: Account | None, query: SearchQuery, local_domain: str
) -> SearchResults:
    """Which kinds are searched follows Mastodon: ``#word`` is no account, ``a@b`` no hashtag, and a
    lone ``#word`` or ``@name`` no status text; statuses only for signed-in users."""
    q = (query.q or "").strip()
    if not q:
        raise Unprocessable("Validation failed: q can't be blank")
    offset = query.offset if query.type else 0
    check_anonymous_use(viewer, offset=offset, resolve=query.resolve)
    wanted = {kind for kind in TYPES if query.type in (None, "", kind)}
    results = SearchResults()
    limit = query.page.limit
    if "accounts" in wanted and not (q.startswith("#") or ("@" in q and " " in q)):
        results.accounts = await search.search_accounts(
            session, parse_account_query(q, local_domain), viewer.id if viewer else None,
            following=query.following, limit=limit, offset=offset,
        )
    if "hashtags" in wanted and "@" not in q:
        results.hashtags = await search.search_tags(
            session, normalize_tag(q.removeprefix("#")), limit=limit, offset=offset
        )
    if (
        "statuses" in wanted
        and viewer is not None
        and not ((q.startswith("#") or "@" in q) and " " not in q)
    ):
        results.statuses = await search.search_statuses(
            session, q, viewer.id, query.page, offset=offset, account_id=query.account_id
        )
    return results
