"""Payloads of streaming events, rendered once per event for every connection that receives it.

Statuses are rendered without a viewer (as Mastodon's streaming server sends them: no ``favourited``
and the like); a notification is rendered for its one recipient. A status that is gone, or whose author
is suspended, renders to nothing and is not sent (its ``delete`` follows in the log).
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from starling.config import Settings
from starling.models import Status
from starling.repositories import notifications
from starling.repositories.statuses import load_bundle
from starling.streaming.audience import EventView
from starling.streaming.hub import Rendered, Renderer
from starling.web.mastodon.notifications import STATUS_TYPES
from starling.web.mastodon.render import iso, to_mastodon_account, to_mastodon_status


def _dumps(data: Any) -> str:
    return orjson.dumps(data).decode()


def make_renderer(settings: Settings) -> Renderer:
    base = settings.base_url

    async def render(session: AsyncSession, events: list[EventView]) -> dict[int, Rendered]:
        out: dict[int, Rendered] = {}
        status_ids = {ev.object_id for ev in events if ev.kind in ("update", "status.update") and ev.object_id}
        statuses = {s.id: s for s in (await session.execute(
            select(Status).where(Status.id.in_(list(status_ids)))
        )).scalars()} if status_ids else {}
        bundle = await load_bundle(session, list(statuses.values()), None)
        for ev in events:
            if ev.kind in ("update", "status.update") and ev.object_id in statuses:
                status = statuses[ev.object_id]
                author = bundle.accounts.get(status.account_id)
                if author is None or author.suspended_at is not None:
                    continue
                data = to_mastodon_status(status, bundle, base)
                rendered = Rendered(_dumps(data))
                if status.visibility == "direct":
                    rendered.conversation = {"id": str(status.conversation_id or status.id), "last_status": data}
                    people = [author, *bundle.mentions.get(status.id, [])]
                    rendered.participants = [(a.id, to_mastodon_account(a, base)) for a in people]
                out[ev.id] = rendered
            elif ev.kind == "notification" and ev.object_id is not None and ev.account_id is not None:
                row = await notifications.find(session, ev.account_id, ev.object_id)
                if row is None:
                    continue
                n = row.notification
                data = {
                    "id": str(n.id), "type": n.type, "created_at": iso(n.created_at),
                    "group_key": f"ungrouped-{n.id}", "account": to_mastodon_account(row.account, base),
                }
                if n.type in STATUS_TYPES:
                    status_data = None
                    if row.status is not None:
                        own = await load_bundle(session, [row.status], ev.account_id)
                        status_data = to_mastodon_status(row.status, own, base)
                    data["status"] = status_data
                out[ev.id] = Rendered(_dumps(data))
        return out

    return render
