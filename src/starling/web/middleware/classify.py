"""Which requests go first when the server is busy.

Priority 0 keeps people signed in and posting: sign-in and OAuth, app registration and sign-up, every
write by a signed-in client, and the streaming handshake. Priority 1 is a signed-in client's reads
(timelines, notifications, search). Priority 2 is everything anonymous or expensive: public timelines
without a token, search without a token, the directory, and federation inbox deliveries.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

from starlette.types import Scope

from starling.web.middleware.context import header

FIRST, NEXT, LAST = 0, 1, 2
PRIORITIES = (FIRST, NEXT, LAST)

# Answered without admission or rate limits: probes must see the process even when it is saturated.
BYPASS_PREFIXES = ("/health/", "/metrics")
# Long-lived connections: only the handshake holds an admission slot.
STREAMING_PREFIXES = ("/api/v1/streaming",)
SIGN_IN_PREFIXES = ("/oauth/", "/auth/")
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_INBOX = re.compile(r"^(/inbox|/users/[^/]+/inbox)/?$")
SESSION_COOKIE_NAME = "starling_session"  # web/html/session.py sets it
_SESSION_COOKIE = f"{SESSION_COOKIE_NAME}="


def bypasses(path: str) -> bool:
    return path == "/metrics" or path.startswith(BYPASS_PREFIXES)


def is_streaming(path: str) -> bool:
    return path.startswith(STREAMING_PREFIXES)


def bearer_token(scope: Scope) -> str | None:
    """The access token as the API reads it: the Authorization header, else ``?access_token=``."""
    auth = header(scope, b"authorization")
    if auth is not None:
        kind, _, value = auth.partition(" ")
        return (value.strip() or None) if kind.lower() == "bearer" else None
    query: bytes = scope.get("query_string", b"")
    if b"access_token=" not in query:
        return None
    for key, value in parse_qsl(query.decode("latin-1")):
        if key == "access_token" and value:
            return value
    return None


def signed_in(scope: Scope) -> bool:
    if bearer_token(scope) is not None:
        return True
    cookie = header(scope, b"cookie")
    return cookie is not None and _SESSION_COOKIE in cookie


def classify(scope: Scope) -> int:
    path: str = scope.get("path", "")
    method: str = scope.get("method", "GET")
    if scope.get("type") == "websocket" or is_streaming(path):
        return FIRST
    if _INBOX.match(path):
        return LAST
    if path.startswith(SIGN_IN_PREFIXES):
        return FIRST
    user = signed_in(scope)
    if method not in _READ_METHODS:
        if user or path in ("/api/v1/apps", "/api/v1/accounts"):
            return FIRST
        return LAST
    if user or path.startswith("/static/"):
        return NEXT
    return LAST
