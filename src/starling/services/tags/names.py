"""Which names are hashtags: the same rule the text tokenizer applies to ``#name`` in a post."""

from __future__ import annotations

import re
from dataclasses import dataclass

from starling.domain.text import normalize_tag

_NAME = re.compile(r"[\w\u00b7\u200c]*[^\W\d_][\w\u00b7\u200c]*")
MAX_NAME = 100


@dataclass(frozen=True)
class TagName:
    name: str  # as written
    lower: str  # normalised: how tags are matched


def parse_tag_name(raw: str | None) -> TagName | None:
    """The hashtag ``raw`` names (a leading ``#`` is allowed), or None when it names none."""
    if raw is None:
        return None
    name = raw.strip().removeprefix("#")
    if not name or len(name) > MAX_NAME or not _NAME.fullmatch(name):
        return None
    return TagName(name=name, lower=normalize_tag(name))
