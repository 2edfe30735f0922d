"""What the middleware layers learn about one request, shared through the ASGI scope."""

from __future__ import annotations

import contextvars
import re
import uuid
from dataclasses import dataclass

from starlette.types import Scope

SCOPE_KEY = "starling.request"

# The request id of the request being handled, for every log line written while handling it.
current_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("starling_request_id", default=None)

_SAFE_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


@dataclass
class RequestInfo:
    request_id: str = ""
    priority: int | None = None
    account_id: int | None = None
    shed: bool = False
    shed_reason: str | None = None
    # The admission state when it was refused (slots, queues, estimate), for the access log.
    shed_state: str | None = None
    stale: bool = False
    ratelimited: bool = False


def request_info(scope: Scope) -> RequestInfo:
    info = scope.get(SCOPE_KEY)
    if not isinstance(info, RequestInfo):
        info = RequestInfo()
        scope[SCOPE_KEY] = info
    return info


def new_request_id(incoming: str | None) -> str:
    """Keep a caller's id when it is short and plain (a proxy's), otherwise make one."""
    if incoming and _SAFE_ID.match(incoming):
        return incoming
    return uuid.uuid4().hex


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or ():
        if key == name:
            return str(value.decode("latin-1"))
    return None


def client_ip(scope: Scope) -> str:
    client = scope.get("client")
    if client:
        return str(client[0])
    return "unknown"
