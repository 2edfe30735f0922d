"""Reading paging parameters and writing the ``Link`` header (``rel="next"`` first)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from starling.domain.errors import Unprocessable
from starling.domain.ids import parse_id
from starling.domain.paging import Page


def _id_param(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    # Mastodon treats a cursor that is not an id as absent rather than failing the request.
    return parse_id(raw)


def read_page(request: Request, *, default: int = 20, maximum: int = 40) -> Page:
    raw = request.query_params.get("limit")
    limit = default
    if raw not in (None, ""):
        try:
            limit = int(raw)  # type: ignore[arg-type]
        except ValueError:
            raise Unprocessable("Validation failed: limit must be an integer") from None
        limit = max(1, min(limit, maximum))
    return Page(
        max_id=_id_param(request, "max_id"),
        since_id=_id_param(request, "since_id"),
        min_id=_id_param(request, "min_id"),
        limit=limit,
    )


def set_link_header(response: Response, request: Request, cursor_ids: list[int]) -> None:
    """``cursor_ids`` are the paging ids of the returned items, newest first."""
    if not cursor_ids:
        return
    base = request.url.remove_query_params(["max_id", "min_id", "since_id"])
    next_url = base.include_query_params(max_id=str(cursor_ids[-1]))
    prev_url = base.include_query_params(min_id=str(cursor_ids[0]))
    response.headers["Link"] = f'<{next_url}>; rel="next", <{prev_url}>; rel="prev"'
