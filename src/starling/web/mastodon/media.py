"""Mastodon API: media uploads (v2 asynchronous, v1 legacy), alt text and focus, deletion, and
removing one's avatar or header."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from starling.domain.errors import Unprocessable
from starling.models import MediaAttachment
from starling.services.accounts.verify_credentials import verify_credentials
from starling.services.media.manage_media import delete_media, show_media, update_media
from starling.services.media.profile_images import remove_profile_image
from starling.services.media.setup import MediaSetup, media_setup
from starling.services.media.source import UploadSource
from starling.services.media.upload_media import discard_upload, upload_media
from starling.web.deps import Ctx, auth
from starling.web.mastodon.accounts import credential_json
from starling.web.mastodon.present import base_url, path_id
from starling.web.mastodon.render import to_mastodon_media
from starling.web.params import Params, read_params
from starling.web.responses import json_response

router = APIRouter()

# Room for the form's other fields around the file itself.
FORM_OVERHEAD = 1024 * 1024


def setup_of(ctx: Ctx) -> MediaSetup:
    return media_setup(ctx.container.settings)


def upload_source(value: UploadFile) -> UploadSource:
    return UploadSource(stream=value.file, filename=value.filename or "", content_type=value.content_type)


def file_param(params: Params, key: str) -> UploadSource | None:
    value = params.raw(key)
    if value is None or value == "":
        return None
    if not isinstance(value, UploadFile):
        raise Unprocessable(f"Validation failed: {key} must be a file", field=key)
    return upload_source(value)


def check_declared_size(request: Request, setup: MediaSetup) -> None:
    """Refuse a body larger than any file may be before reading it."""
    declared = request.headers.get("content-length", "")
    limit = max(setup.limits.image_size, setup.limits.video_size) * 2 + FORM_OVERHEAD
    if declared.isdigit() and int(declared) > limit:
        raise Unprocessable("Validation failed: File file size is too large", field="file")


def media_json(ctx: Ctx, media: MediaAttachment) -> dict[str, object]:
    return to_mastodon_media(media, base_url(ctx))


async def _upload(request: Request, ctx: Ctx, *, process_now: bool) -> Response:
    setup = setup_of(ctx)
    check_declared_size(request, setup)
    params = await read_params(request)
    source = file_param(params, "file")
    if source is None:
        raise Unprocessable("Validation failed: File can't be blank", field="file")
    media = await upload_media(
        ctx.session, ctx.account.id, source, setup=setup,
        description=params.get_str("description"), focus=params.get_str("focus"),
        thumbnail=file_param(params, "thumbnail"), process_now=process_now,
    )
    try:
        await ctx.commit()
    except BaseException:
        discard_upload(setup, media.id, media)
        raise
    return json_response(media_json(ctx, media), status_code=200 if media.processing == "done" else 202)


@router.post("/api/v2/media")
async def upload_v2(request: Request, ctx: Ctx = Depends(auth("write:media"))) -> Response:
    return await _upload(request, ctx, process_now=False)


@router.post("/api/v1/media")
async def upload_v1(request: Request, ctx: Ctx = Depends(auth("write:media"))) -> Response:
    return await _upload(request, ctx, process_now=True)


@router.get("/api/v1/media/{media_id}")
async def get_media(media_id: str, ctx: Ctx = Depends(auth("write:media"))) -> Response:
    media = await show_media(ctx.session, ctx.account.id, path_id(media_id))
    if media.processing == "failed":
        raise Unprocessable(media.processing_error or "Validation failed: the file could not be processed",
                            field="file")
    return json_response(media_json(ctx, media), status_code=200 if media.processing == "done" else 206)


@router.put("/api/v1/media/{media_id}")
async def put_media(media_id: str, request: Request, ctx: Ctx = Depends(auth("write:media"))) -> Response:
    params = await read_params(request)
    media = await update_media(
        ctx.session, ctx.account.id, path_id(media_id),
        description=params.get_str("description"), focus=params.get_str("focus"),
        description_limit=setup_of(ctx).limits.description_chars,
    )
    await ctx.commit()
    return json_response(media_json(ctx, media), status_code=200 if media.processing == "done" else 206)


@router.delete("/api/v1/media/{media_id}")
async def remove_media(media_id: str, ctx: Ctx = Depends(auth("write:media"))) -> Response:
    await delete_media(ctx.session, ctx.account.id, path_id(media_id))
    await ctx.commit()
    return json_response({})


async def _remove_profile_image(ctx: Ctx, which: Literal["avatar", "header"]) -> Response:
    remove_profile_image(ctx.session, ctx.account, which)
    await ctx.commit()
    creds = await verify_credentials(ctx.session, ctx.account, ctx.user)
    return json_response(credential_json(ctx, creds))


@router.delete("/api/v1/profile/avatar")
async def delete_avatar(ctx: Ctx = Depends(auth("write:accounts"))) -> Response:
    return await _remove_profile_image(ctx, "avatar")


@router.delete("/api/v1/profile/header")
async def delete_header(ctx: Ctx = Depends(auth("write:accounts"))) -> Response:
    return await _remove_profile_image(ctx, "header")
