"""Shortcuts for handlers: load what an entity needs and render it for the request's viewer."""

from __future__ import annotations

from typing import Any

from starling.domain.errors import NotFound
from starling.domain.ids import parse_id
from starling.models import Account, Status
from starling.repositories.statuses import load_bundle, new_status_bundle
from starling.services.statuses.post_status import Posted
from starling.web.deps import Ctx
from starling.web.mastodon.render import to_mastodon_account, to_mastodon_status


def path_id(value: str) -> int:
    """An id from the URL path; anything that is not an id is simply not found."""
    parsed = parse_id(value)
    if parsed is None:
        raise NotFound()
    return parsed


def base_url(ctx: Ctx) -> str:
    return ctx.container.settings.base_url


async def statuses_json(ctx: Ctx, statuses: list[Status]) -> list[dict[str, Any]]:
    viewer = ctx.account_or_none
    bundle = await load_bundle(ctx.session, statuses, viewer.id if viewer else None)
    base = base_url(ctx)
    return [to_mastodon_status(s, bundle, base) for s in statuses]


async def status_json(ctx: Ctx, status: Status) -> dict[str, Any]:
    return (await statuses_json(ctx, [status]))[0]


async def posted_json(ctx: Ctx, posted: Posted) -> dict[str, Any]:
    """The status a post just made, from what posting had in hand: no query, so the answer to a post
    costs no round trip after its commit. A replayed post (idempotency key) is loaded as any status."""
    if posted.replayed:
        return await status_json(ctx, posted.status)
    application = ctx.viewer.application if ctx.viewer else None
    bundle = new_status_bundle(posted.status, ctx.account, mentioned=posted.mentioned, tags=posted.tags,
                               media=posted.media, application=application, viewer_id=ctx.account.id)
    return to_mastodon_status(posted.status, bundle, base_url(ctx))


def account_json(ctx: Ctx, account: Account) -> dict[str, Any]:
    return to_mastodon_account(account, base_url(ctx))


def accounts_json(ctx: Ctx, accounts: list[Account]) -> list[dict[str, Any]]:
    base = base_url(ctx)
    return [to_mastodon_account(a, base) for a in accounts]
