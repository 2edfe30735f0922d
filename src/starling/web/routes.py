"""The one route table: every router of the server, in the order they are matched."""

from __future__ import annotations

from fastapi import APIRouter

from starling.web import html, media_files
from starling.web.mastodon import (
    accounts,
    announcements,
    apps,
    follows,
    instance,
    lists,
    media,
    not_yet,
    notifications,
    oauth,
    search,
    statuses,
    tags,
    timelines,
    wellknown,
)

ROUTERS: list[APIRouter] = [
    apps.router,
    oauth.router,
    # follows before accounts: its fixed paths (/accounts/relationships) must win over /accounts/{id}.
    follows.router,
    # search before accounts too (/accounts/search).
    search.router,
    accounts.router,
    statuses.router,
    timelines.router,
    notifications.router,
    instance.router,
    wellknown.router,
    html.router,
    announcements.router,
    lists.router,
    tags.router,
    media.router,
    media_files.router,
    # Last: answers every other /api/ path with a Mastodon-style error.
    not_yet.router,
]
