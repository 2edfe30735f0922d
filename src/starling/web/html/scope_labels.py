"""Plain-language descriptions of OAuth scopes, shown on the consent page."""

from __future__ import annotations

from dataclasses import dataclass

_TOP = {
    "read": ("Read", "Read all of your account's data"),
    "write": ("Write", "Change all of your account's data"),
    "follow": ("Follow", "Change who you follow, block and mute"),
    "push": ("Push", "Receive your push notifications"),
    "profile": ("Profile", "Read only your account's profile information"),
    "admin:read": ("Administration: read", "Read all data on the server"),
    "admin:write": ("Administration: write", "Change all data on the server"),
}
_NOUNS = {
    "accounts": "account information",
    "blocks": "blocks",
    "bookmarks": "bookmarks",
    "conversations": "conversations",
    "favourites": "favourites",
    "filters": "filters",
    "follows": "follows",
    "lists": "lists",
    "media": "media uploads",
    "mutes": "mutes and muted conversations",
    "notifications": "notifications",
    "reports": "reports",
    "search": "searches on your behalf",
    "statuses": "posts",
}


@dataclass(frozen=True)
class ScopeLabel:
    name: str
    title: str
    description: str


def describe(scope: str) -> ScopeLabel:
    if scope in _TOP:
        title, description = _TOP[scope]
        return ScopeLabel(scope, title, description)
    parts = scope.split(":")
    admin = parts[0] == "admin"
    if admin:
        parts = parts[1:]
    verb, noun = [*parts, ""][:2]
    what = _NOUNS.get(noun, noun.replace("_", " "))
    if noun == "search":
        text = "Perform searches on your behalf"
    elif verb == "read":
        text = f"See your {what}" if not admin else f"See {what} on the server"
    else:
        text = f"Change your {what}" if not admin else f"Change {what} on the server"
    title = ("Administration: " if admin else "") + f"{verb} {noun}".strip().capitalize()
    return ScopeLabel(scope, title, text)


def describe_all(scopes: list[str]) -> list[ScopeLabel]:
    return [describe(s) for s in scopes]
