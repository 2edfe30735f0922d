"""Who may see a status. The SQL form of the same rule is in ``repositories/visibility.py``."""

from __future__ import annotations

from enum import StrEnum


class Visibility(StrEnum):
    PUBLIC = "public"
    UNLISTED = "unlisted"
    PRIVATE = "private"
    DIRECT = "direct"


VISIBILITIES = tuple(v.value for v in Visibility)
# Visible to anyone (also to readers without an account), subject to blocks.
OPEN = (Visibility.PUBLIC.value, Visibility.UNLISTED.value)


def may_see(
    *,
    visibility: str,
    author_id: int,
    viewer_id: int | None,
    viewer_follows_author: bool,
    viewer_is_mentioned: bool,
    blocked_either_way: bool,
) -> bool:
    """The single rule: authors see their own; blocks hide; then by visibility."""
    if viewer_id is not None and viewer_id == author_id:
        return True
    if blocked_either_way:
        return False
    if visibility in OPEN:
        return True
    if viewer_id is None:
        return False
    if visibility == Visibility.PRIVATE:
        return viewer_follows_author or viewer_is_mentioned
    return viewer_is_mentioned


def may_reblog(visibility: str) -> bool:
    return visibility in OPEN
