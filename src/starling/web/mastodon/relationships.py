"""The Relationship entity: what the viewer and another account are to each other."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from starling.repositories.graph import Relationship, load_relationships
from starling.web.deps import Ctx
from starling.web.mastodon.render import iso

JSON = dict[str, Any]


def to_mastodon_relationship(rel: Relationship) -> JSON:
    return {
        "id": str(rel.account_id),
        "following": rel.following,
        "showing_reblogs": rel.showing_reblogs,
        "notifying": rel.notifying,
        "languages": None,
        "followed_by": rel.followed_by,
        "blocking": rel.blocking,
        "blocked_by": rel.blocked_by,
        "muting": rel.muting,
        "muting_notifications": rel.muting_notifications,
        "muting_expires_at": iso(rel.muting_expires_at) if rel.muting else None,
        "requested": rel.requested,
        "requested_by": rel.requested_by,
        "domain_blocking": False,
        "endorsed": False,
        "note": "",
    }


async def relationships_json(ctx: Ctx, account_ids: Iterable[int]) -> list[JSON]:
    """Relationships of the signed-in account to each id, in the order given."""
    rels = await load_relationships(ctx.session, ctx.account.id, account_ids)
    return [to_mastodon_relationship(rel) for rel in rels.values()]


async def relationship_json(ctx: Ctx, account_id: int) -> JSON:
    return (await relationships_json(ctx, [account_id]))[0]
