"""Mastodon API: what the server says about itself (instance, rules, extended description and the
lists that go with them), plus the profile directory and the signed-in user's preferences."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.responses import Response

from starling.services.instance.describe_instance import describe_instance
from starling.services.instance.list_known_domains import list_known_domains
from starling.web.deps import Ctx, anonymous
from starling.web.mastodon import directory, preferences
from starling.web.mastodon.instance_render import (
    to_mastodon_extended_description,
    to_mastodon_instance,
    to_mastodon_rule,
    to_mastodon_v1_instance,
)
from starling.web.mastodon.present import account_json
from starling.web.responses import json_response

router = APIRouter()


@router.get("/api/v2/instance")
async def instance_v2(ctx: Ctx = Depends(anonymous)) -> Response:
    settings = ctx.container.settings
    info = await describe_instance(ctx.session, settings, activity=True, contact=True, rules=True)
    contact = account_json(ctx, info.contact_account) if info.contact_account else None
    return json_response(to_mastodon_instance(info, settings, contact))


@router.get("/api/v1/instance")
async def instance_v1(ctx: Ctx = Depends(anonymous)) -> Response:
    settings = ctx.container.settings
    info = await describe_instance(ctx.session, settings, counts=True, contact=True, rules=True)
    contact = account_json(ctx, info.contact_account) if info.contact_account else None
    return json_response(to_mastodon_v1_instance(info, settings, contact))


@router.get("/api/v1/instance/rules")
async def instance_rules(ctx: Ctx = Depends(anonymous)) -> Response:
    info = await describe_instance(ctx.session, ctx.container.settings, rules=True)
    return json_response([to_mastodon_rule(r) for r in info.rules])


@router.get("/api/v1/instance/extended_description")
async def extended_description(ctx: Ctx = Depends(anonymous)) -> Response:
    settings = ctx.container.settings
    info = await describe_instance(ctx.session, settings, extended=True)
    return json_response(to_mastodon_extended_description(info, settings))


@router.get("/api/v1/instance/translation_languages")
async def translation_languages() -> Response:
    return json_response({})


@router.get("/api/v1/instance/domain_blocks")
async def domain_blocks() -> Response:
    """This server blocks no domains (it does not federate yet), and says so."""
    return json_response([])


@router.get("/api/v1/instance/peers")
async def peers(ctx: Ctx = Depends(anonymous)) -> Response:
    return json_response(await list_known_domains(ctx.session))


@router.get("/api/v1/custom_emojis")
async def custom_emojis() -> Response:
    return json_response([])


router.include_router(directory.router)
router.include_router(preferences.router)
