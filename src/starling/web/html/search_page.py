"""Search: accounts, hashtags and (for signed-in people) posts, with the API's search service."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from starling.domain.paging import Page as Paging
from starling.services.search.search_all import SearchQuery, SearchResults, search_all
from starling.web.html.common import guarded, render_app
from starling.web.html.session import Page, page_context
from starling.web.html.timeline_pages import views_of
from starling.web.html.views import account_view

router = APIRouter()

MAX_QUERY = 200


@router.get("/search", include_in_schema=False)
@guarded
async def search(request: Request, page: Page = Depends(page_context)) -> Response:
    q = request.query_params.get("q", "").strip()[:MAX_QUERY]
    results = SearchResults()
    if q:
        results = await search_all(page.session, page.account, SearchQuery(q=q, page=Paging(limit=20)),
                                   page.settings.server_name)
    base = page.settings.base_url
    return await render_app(
        page, "search.html", title=f"Search: {q}" if q else "Search", q=q,
        accounts=[account_view(a, base) for a in results.accounts],
        hashtags=[t.name for t in results.hashtags],
        statuses=await views_of(page, results.statuses),
    )
