"""Mastodon's id-based paging: ``max_id``, ``since_id``, ``min_id`` and ``limit``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Page:
    max_id: int | None = None
    since_id: int | None = None
    min_id: int | None = None
    limit: int = 20

    @property
    def ascending(self) -> bool:
        """With ``min_id`` the page is the oldest ``limit`` items newer than it (returned newest first)."""
        return self.min_id is not None
