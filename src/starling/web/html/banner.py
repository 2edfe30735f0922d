"""What every page shows above its content: the admins' current announcements and, while it is on,
the read-only notice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from markupsafe import Markup

from starling.services.maintenance.list_announcements import current_announcements
from starling.services.maintenance.read_only import read_only_state
from starling.web.html.session import Page
from starling.web.mastodon.announcements import announcement_html


@dataclass(frozen=True)
class BannerItem:
    content: Markup  # escaped by the text renderer
    starts_at: str | None
    ends_at: str | None
    all_day: bool


def _when(value: datetime | None, all_day: bool) -> str | None:
    if value is None:
        return None
    return value.strftime("%Y-%m-%d" if all_day else "%Y-%m-%d %H:%M UTC")


async def banner_context(page: Page) -> dict[str, Any]:
    account = page.account
    shown = await current_announcements(page.session, account.id if account else None)
    base = page.settings.base_url
    items = [
        BannerItem(
            content=Markup(announcement_html(s.announcement, base)),
            starts_at=_when(s.announcement.starts_at, s.announcement.all_day),
            ends_at=_when(s.announcement.ends_at, s.announcement.all_day),
            all_day=s.announcement.all_day,
        )
        for s in shown
        if not s.read
    ]
    state = await read_only_state(page.session)
    return {"announcements": items, "read_only_message": state.message if state.enabled else None}
