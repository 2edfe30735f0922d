"""Which stream may carry which event: the per-connection filter, pure and cheap.

An event carries its audience data (author, visibility, mentions, tags, ...); a connection holds a
:class:`Graph` of its viewer's relationships (loaded once, reloaded when they change). Deciding is then
a few set look-ups, with no query, so one event can be judged for thousands of connections. The
visibility part is :func:`starling.domain.visibility.may_see`, the rule every read path uses; the
timeline parts mirror the home fan-out (``repositories/timelines.py``) and the public and tag timelines.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from starling.domain.visibility import OPEN, may_see

STATUS_KINDS = frozenset({"update", "status.update", "delete"})
PUBLIC_STREAMS = frozenset({
    "public", "public:media", "public:local", "public:local:media", "public:remote", "public:remote:media",
})
STREAMS = PUBLIC_STREAMS | {"user", "user:notification", "hashtag", "hashtag:local", "list", "direct"}
# Streams anyone may read without a token (as the public and tag timelines).
ANONYMOUS_STREAMS = PUBLIC_STREAMS | {"hashtag", "hashtag:local"}


@dataclass(frozen=True)
class StreamSpec:
    """One subscription: a stream name and, for some, its tag or list."""

    name: str
    tag: str | None = None
    list_id: int | None = None

    def label(self) -> list[str]:
        """The ``stream`` array Mastodon sends with each WebSocket message."""
        if self.name.startswith("hashtag") and self.tag is not None:
            return [self.name, self.tag]
        if self.name == "list" and self.list_id is not None:
            return [self.name, str(self.list_id)]
        return [self.name]


@dataclass(slots=True)
class Graph:
    """What one viewer's streams need to know of its relationships."""

    account_id: int
    following: frozenset[int] = frozenset()
    # Followed accounts whose reblogs the viewer does not want.
    no_reblogs: frozenset[int] = frozenset()
    # Blocked by the viewer, or blocking it.
    blocked: frozenset[int] = frozenset()
    # Muted account → end of the mute (None: for good).
    mutes: dict[int, datetime | None] = field(default_factory=dict)
    followed_tags: frozenset[str] = frozenset()
    # Members of the viewer's exclusive lists (their statuses stay out of its home).
    exclusive: frozenset[int] = frozenset()
    # List id → members, for the lists the viewer's connections subscribed to.
    lists: dict[int, frozenset[int]] = field(default_factory=dict)

    def muted(self, account_id: int, now: datetime) -> bool:
        if account_id not in self.mutes:
            return False
        until = self.mutes[account_id]
        return until is None or until > now


@dataclass(frozen=True)
class EventView:
    """An event of the log as the filter sees it."""

    id: int
    kind: str
    account_id: int | None
    object_id: int | None
    visibility: str | None
    audience: dict[str, Any]


def _authors(ev: EventView) -> list[int]:
    authors = [ev.account_id] if ev.account_id is not None else []
    if ev.audience.get("reblog_author") is not None:
        authors.append(int(ev.audience["reblog_author"]))
    return authors


def may_see_event(ev: EventView, graph: Graph | None) -> bool:
    """The visibility rule (``domain/visibility.may_see``) for the status an event is about."""
    author = ev.account_id
    if author is None or ev.visibility is None:
        return False
    viewer = graph.account_id if graph is not None else None
    mentions = ev.audience.get("mentions") or []
    blocked = graph is not None and any(a in graph.blocked for a in _authors(ev))
    if not may_see(
        visibility=ev.visibility, author_id=author, viewer_id=viewer,
        viewer_follows_author=graph is not None and author in graph.following,
        viewer_is_mentioned=viewer is not None and viewer in mentions,
        blocked_either_way=blocked,
    ):
        return False
    # A reblog shows its original: that one must be visible too (only open statuses can be reblogged).
    reblog_visibility = ev.audience.get("reblog_visibility")
    return not (ev.audience.get("reblog_of") is not None and reblog_visibility not in (None, *OPEN)
                and viewer != ev.audience.get("reblog_author"))


def _silenced(ev: EventView, graph: Graph | None, now: datetime) -> bool:
    """Blocked either way, or muted: such authors stay out of every timeline stream."""
    if graph is None:
        return False
    return any(a in graph.blocked or graph.muted(a, now) for a in _authors(ev) if a != graph.account_id)


def _home(ev: EventView, graph: Graph, now: datetime) -> bool:
    author = ev.account_id
    viewer = graph.account_id
    if author == viewer:
        return True
    if _silenced(ev, graph, now) or not may_see_event(ev, graph):
        return False
    if ev.visibility == "direct":
        return viewer in (ev.audience.get("mentions") or [])
    reblog = ev.audience.get("reblog_of") is not None
    if author in graph.following and author not in graph.exclusive:
        reply_to = ev.audience.get("reply_to")
        reply_ok = (not ev.audience.get("reply") or reply_to is None or reply_to in (author, viewer)
                    or reply_to in graph.following)
        if reply_ok and not (reblog and author in graph.no_reblogs):
            return True
    if ev.visibility == "public" and not reblog and graph.followed_tags:
        return any(t in graph.followed_tags for t in ev.audience.get("tags") or [])
    return False


def _public(name: str, ev: EventView) -> bool:
    if ev.visibility != "public" or ev.audience.get("reblog_of") is not None:
        return False
    local = bool(ev.audience.get("local"))
    if ":local" in name and not local:
        return False
    if ":remote" in name and local:
        return False
    return not (name.endswith(":media") and not ev.audience.get("media"))


def wants(stream: StreamSpec, ev: EventView, graph: Graph | None, now: datetime) -> bool:
    """Does ``ev`` go out on ``stream`` for a viewer with ``graph`` (None: anonymous)?"""
    if ev.kind.startswith("_"):
        return False
    if ev.kind in ("notification", "filters_changed"):
        if ev.kind == "filters_changed" and stream.name != "user":
            return False
        return stream.name in ("user", "user:notification") and graph is not None and ev.account_id == \
            graph.account_id
    if ev.kind not in STATUS_KINDS:
        return False
    name = stream.name
    if name == "user":
        return graph is not None and _home(ev, graph, now)
    if name == "user:notification":
        return False
    if name == "direct":
        if graph is None or ev.visibility != "direct":
            return False
        return ev.account_id == graph.account_id or (
            graph.account_id in (ev.audience.get("mentions") or []) and not _silenced(ev, graph, now)
            and may_see_event(ev, graph)
        )
    if name == "list":
        if graph is None or stream.list_id is None:
            return False
        members = graph.lists.get(stream.list_id, frozenset())
        return (ev.account_id in members and ev.visibility != "direct" and not _silenced(ev, graph, now)
                and may_see_event(ev, graph))
    if name in PUBLIC_STREAMS:
        return _public(name, ev) and not _silenced(ev, graph, now) and may_see_event(ev, graph)
    if name in ("hashtag", "hashtag:local"):
        if stream.tag is None or stream.tag.lower() not in (ev.audience.get("tags") or []):
            return False
        if name == "hashtag:local" and not ev.audience.get("local"):
            return False
        return (ev.visibility == "public" and ev.audience.get("reblog_of") is None
                and not _silenced(ev, graph, now) and may_see_event(ev, graph))
    return False


def event_name(stream: StreamSpec, ev: EventView) -> str:
    """The event name a stream sends: on the direct stream a status arrives as a conversation."""
    if stream.name == "direct" and ev.kind in ("update", "status.update"):
        return "conversation"
    return ev.kind
