"""Rules for the redirect URIs an application registers, and for sending a browser back to one."""

from __future__ import annotations

import re
from urllib.parse import urlencode, urlsplit

OOB = "urn:ietf:wg:oauth:2.0:oob"
MAX_LENGTH = 1000
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*$")
# Never a place to send a browser with a code.
_FORBIDDEN_SCHEMES = frozenset({"javascript", "data", "vbscript", "file", "about", "blob"})


def split_uris(value: str | list[str]) -> list[str]:
    """A string holds one URI per line (or whitespace-separated); a list holds one per item."""
    items = value if isinstance(value, list) else [value]
    out: dict[str, None] = {}
    for item in items:
        for uri in item.split():
            out[uri] = None
    return list(out)


def uri_problem(uri: str) -> str | None:
    """Why ``uri`` cannot be registered, or None when it can."""
    if uri == OOB:
        return None
    if len(uri) > MAX_LENGTH:
        return f"is too long (maximum is {MAX_LENGTH} characters)"
    if any(ord(c) < 33 or ord(c) == 127 for c in uri):
        return "must be an absolute URI"
    try:
        parts = urlsplit(uri)
    except ValueError:
        return "must be an absolute URI"
    if not parts.scheme or not _SCHEME.match(parts.scheme):
        return "must be an absolute URI"
    if parts.scheme.lower() in _FORBIDDEN_SCHEMES:
        return "must be an absolute URI"
    if "#" in uri:
        return "cannot contain a fragment"
    if parts.scheme.lower() in ("http", "https") and not parts.hostname:
        return "must be an absolute URI"
    if not (parts.netloc or parts.path):
        return "must be an absolute URI"
    return None


def with_params(uri: str, params: dict[str, str | None]) -> str:
    """``uri`` with ``params`` added to its query (None values left out)."""
    query = urlencode({k: v for k, v in params.items() if v is not None})
    if not query:
        return uri
    if uri.endswith(("?", "&")):
        return uri + query
    return uri + ("&" if "?" in uri else "?") + query
