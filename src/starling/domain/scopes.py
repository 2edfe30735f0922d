"""OAuth scopes as Mastodon defines them, and the rule for when a token's scopes allow an action."""

from __future__ import annotations

TOP_LEVEL = ("read", "write", "follow", "push", "profile", "admin:read", "admin:write")

READ = (
    "read:accounts", "read:blocks", "read:bookmarks", "read:favourites", "read:filters",
    "read:follows", "read:lists", "read:mutes", "read:notifications", "read:search", "read:statuses",
)
WRITE = (
    "write:accounts", "write:blocks", "write:bookmarks", "write:conversations", "write:favourites",
    "write:filters", "write:follows", "write:lists", "write:media", "write:mutes",
    "write:notifications", "write:reports", "write:statuses",
)
ADMIN = (
    "admin:read:accounts", "admin:read:reports", "admin:read:domain_allows", "admin:read:domain_blocks",
    "admin:read:ip_blocks", "admin:read:email_domain_blocks", "admin:read:canonical_email_blocks",
    "admin:write:accounts", "admin:write:reports", "admin:write:domain_allows",
    "admin:write:domain_blocks", "admin:write:ip_blocks", "admin:write:email_domain_blocks",
    "admin:write:canonical_email_blocks",
)
ALL = frozenset(TOP_LEVEL + READ + WRITE + ADMIN)

# The deprecated "follow" scope still grants these, as in Mastodon.
_FOLLOW_GRANTS = frozenset(
    {"read:follows", "write:follows", "read:blocks", "write:blocks", "read:mutes", "write:mutes"}
)


def parse_scopes(value: str | None, *, default: str = "read") -> list[str]:
    """Split a space- or plus-separated scope string; keeps order, drops duplicates."""
    raw = (value or default).replace("+", " ").split()
    seen: dict[str, None] = {}
    for scope in raw:
        seen[scope] = None
    return list(seen)


def unknown_scopes(scopes: list[str]) -> list[str]:
    return [s for s in scopes if s not in ALL]


def grants(token_scopes: frozenset[str] | set[str], required: str) -> bool:
    """True when a token with ``token_scopes`` may do what needs ``required``."""
    if required in token_scopes:
        return True
    parts = required.split(":")
    # "read" covers "read:statuses"; "admin:read" covers "admin:read:accounts".
    for i in range(1, len(parts)):
        if ":".join(parts[:i]) in token_scopes:
            return True
    return "follow" in token_scopes and required in _FOLLOW_GRANTS


def subset_of(requested: list[str], allowed: list[str]) -> bool:
    allowed_set = frozenset(allowed)
    return all(grants(allowed_set, s) for s in requested)
