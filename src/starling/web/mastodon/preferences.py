"""Mastodon API: the signed-in user's posting and reading preferences."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from starlette.responses import Response

from starling.models import User
from starling.web.deps import Ctx, auth
from starling.web.responses import json_response

router = APIRouter()


def to_mastodon_preferences(user: User) -> dict[str, Any]:
    return {
        "posting:default:visibility": user.default_privacy,
        "posting:default:sensitive": user.default_sensitive,
        "posting:default:language": user.default_language or None,
        "reading:expand:media": "default",
        "reading:expand:spoilers": False,
        "reading:autoplay:gifs": False,
    }


@router.get("/api/v1/preferences")
async def get_preferences(ctx: Ctx = Depends(auth("read:accounts"))) -> Response:
    return json_response(to_mastodon_preferences(ctx.user))
