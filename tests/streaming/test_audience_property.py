"""Property: over random follow graphs, blocks, mutes, lists and visibilities, a private or direct status
never reaches a stream whose viewer may not see it; blocked viewers get nothing; and the home stream of a
follower does get what it should. The expected rule is computed here from the raw relations, not from
the filter's own data structure."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from starling.streaming.audience import EventView, Graph, StreamSpec, wants

ACCOUNTS = list(range(1, 7))
NOW = datetime(2026, 1, 1, tzinfo=UTC)
pairs = st.sets(st.tuples(st.sampled_from(ACCOUNTS), st.sampled_from(ACCOUNTS)).filter(lambda p: p[0] != p[1]),
                max_size=20)


@st.composite
def worlds(draw: st.DrawFn) -> dict[str, object]:
    author = draw(st.sampled_from(ACCOUNTS))
    return {
        "follows": draw(pairs),
        "blocks": draw(pairs),
        "mutes": draw(pairs),
        "author": author,
        "visibility": draw(st.sampled_from(["public", "unlisted", "private", "direct"])),
        "mentions": sorted(draw(st.sets(st.sampled_from(ACCOUNTS), max_size=3))),
        "tags": sorted(draw(st.sets(st.sampled_from(["bird", "flock"]), max_size=2))),
        "local": draw(st.booleans()),
        "kind": draw(st.sampled_from(["update", "status.update", "delete"])),
        "followed_tags": draw(st.sets(st.tuples(st.sampled_from(ACCOUNTS), st.sampled_from(["bird", "flock"])))),
        "list_members": draw(st.sets(st.sampled_from(ACCOUNTS), max_size=4)),
    }


def _graph(world: dict[str, object], viewer: int) -> Graph:
    follows: set[tuple[int, int]] = world["follows"]  # type: ignore[assignment]
    blocks: set[tuple[int, int]] = world["blocks"]  # type: ignore[assignment]
    mutes: set[tuple[int, int]] = world["mutes"]  # type: ignore[assignment]
    tags: set[tuple[int, str]] = world["followed_tags"]  # type: ignore[assignment]
    return Graph(
        account_id=viewer,
        following=frozenset(b for a, b in follows if a == viewer),
        blocked=frozenset({b for a, b in blocks if a == viewer} | {a for a, b in blocks if b == viewer}),
        mutes={b: None for a, b in mutes if a == viewer},
        followed_tags=frozenset(t for a, t in tags if a == viewer),
        lists={1: frozenset(world["list_members"])},  # type: ignore[arg-type]
    )


def _event(world: dict[str, object]) -> EventView:
    return EventView(
        id=1, kind=str(world["kind"]), account_id=int(world["author"]), object_id=99,  # type: ignore[call-overload]
        visibility=str(world["visibility"]),
        audience={"local": world["local"], "mentions": world["mentions"], "tags": world["tags"], "reply": False,
                  "reply_to": None, "reblog_of": None, "reblog_author": None, "media": False},
    )


STREAMS = [StreamSpec("user"), StreamSpec("user:notification"), StreamSpec("public"), StreamSpec("public:local"),
           StreamSpec("public:remote"), StreamSpec("hashtag", tag="bird"), StreamSpec("hashtag:local", tag="flock"),
           StreamSpec("list", list_id=1), StreamSpec("direct")]


@settings(max_examples=400, deadline=None)
@given(worlds())
def test_no_stream_carries_what_its_viewer_may_not_see(world: dict[str, object]) -> None:
    ev = _event(world)
    author = int(world["author"])  # type: ignore[call-overload]
    visibility = world["visibility"]
    follows: set[tuple[int, int]] = world["follows"]  # type: ignore[assignment]
    blocks: set[tuple[int, int]] = world["blocks"]  # type: ignore[assignment]
    mentions: list[int] = world["mentions"]  # type: ignore[assignment]
    for stream in STREAMS:
        if wants(stream, ev, None, NOW):
            assert visibility == "public", (stream, world)
        for viewer in ACCOUNTS:
            if not wants(stream, ev, _graph(world, viewer), NOW) or viewer == author:
                continue
            assert (viewer, author) not in blocks and (author, viewer) not in blocks, (stream, viewer, world)
            if visibility == "private":
                assert (viewer, author) in follows or viewer in mentions, (stream, viewer, world)
            if visibility == "direct":
                assert viewer in mentions, (stream, viewer, world)
                assert stream.name in ("user", "direct"), (stream, viewer, world)


@settings(max_examples=200, deadline=None)
@given(worlds())
def test_home_stream_of_a_follower_gets_what_its_home_feed_gets(world: dict[str, object]) -> None:
    ev = _event(world)
    author = int(world["author"])  # type: ignore[call-overload]
    follows: set[tuple[int, int]] = world["follows"]  # type: ignore[assignment]
    blocks: set[tuple[int, int]] = world["blocks"]  # type: ignore[assignment]
    mutes: set[tuple[int, int]] = world["mutes"]  # type: ignore[assignment]
    assert wants(StreamSpec("user"), ev, _graph(world, author), NOW)
    for viewer in ACCOUNTS:
        related = {(viewer, author), (author, viewer)}
        if viewer == author or (viewer, author) not in follows or related & blocks or (viewer, author) in mutes:
            continue
        expected = world["visibility"] != "direct" or viewer in world["mentions"]  # type: ignore[operator]
        assert wants(StreamSpec("user"), ev, _graph(world, viewer), NOW) == expected, (viewer, world)
    assert not wants(StreamSpec("user:notification"), ev, _graph(world, author), NOW)
