"""Live timeline updates for the pages' script: the streaming API's server-sent events, with the
browser's session cookie instead of an access token (a page has no token, and must not be given one).

The path sits under ``/api/v1/streaming/`` so the admission middleware treats it as the long-lived
stream it is (only the handshake holds a slot). Only the timelines a page shows can be followed: the
signed-in person's home (``user``), the local and federated timelines and a hashtag. The events are
the streaming API's own (``update``, ``delete``, ...); the script fetches each new post's HTML from
``/statuses/<id>/card``, so what a page shows is always rendered by the server for its reader.
Signing out closes the streams that sign-in opened, in every worker, as revoking a token closes its.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from starling.domain.errors import NotFound, Unauthorized
from starling.streaming.audience import ANONYMOUS_STREAMS
from starling.web.deps import get_container
from starling.web.html.session import cookie_sign_in
from starling.web.mastodon.streaming import EventStreamResponse, get_hub, parse_stream

router = APIRouter()

WEB_STREAM_PREFIX = "/api/v1/streaming/web"
PAGE_STREAMS = {"user": "user", "public": "public", "public/local": "public:local", "hashtag": "hashtag"}


@router.get(WEB_STREAM_PREFIX + "/{path:path}", include_in_schema=False)
async def web_stream(path: str, request: Request) -> Response:
    name = PAGE_STREAMS.get(path.strip("/"))
    if name is None:
        raise NotFound("Unknown stream type")
    spec = parse_stream(name, dict(request.query_params))
    signed_in = await cookie_sign_in(request)
    account, key = signed_in if signed_in is not None else (None, None)
    if account is None and spec.name not in ANONYMOUS_STREAMS:
        raise Unauthorized("Sign in to follow this timeline")
    hub = await get_hub(get_container(request))
    conn = hub.new_connection(
        # A signed-in stream carries its sign-in's key where an API stream carries its token's id:
        # signing out announces the key revoked and the hub closes the stream (see session.stream_key).
        account_id=account.id if account else None, token_id=key,
        scopes=frozenset({"read"}) if account else frozenset(), transport="sse",
    )
    await hub.subscribe(conn, spec)
    last = request.headers.get("last-event-id", "")
    return EventStreamResponse(hub, conn, int(last) if last.isdigit() else None)
