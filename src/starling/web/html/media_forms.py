"""Photos sent with a web form: received by the media service (docs/MEDIA.md) exactly as the API's
uploads are, then attached by id like the API does. Avatars and headers go through the same profile
service as ``PATCH /api/v1/accounts/update_credentials``."""

from __future__ import annotations

from starlette.datastructures import UploadFile

from starling.models import MediaAttachment
from starling.services.media.setup import media_setup
from starling.services.media.source import UploadSource
from starling.services.media.upload_media import discard_upload, upload_media
from starling.web.html.session import Page

MAX_PHOTOS = 1  # one photo field in the compose form


def media_enabled() -> bool:
    """Forms offer file fields (the media service is part of the server)."""
    return True


def _source(upload: UploadFile) -> UploadSource:
    return UploadSource(stream=upload.file, filename=upload.filename or "", content_type=upload.content_type)


async def upload_from_form(page: Page, form: dict[str, str]) -> list[MediaAttachment]:
    """The photo the compose form carried, received and processed now so the post can take it."""
    upload = page.uploads.get("media")
    if upload is None or page.account is None:
        return []
    media = await upload_media(
        page.session, page.account.id, _source(upload), setup=media_setup(page.settings),
        description=form.get("alt") or None, process_now=True,
    )
    return [media]


def discard(page: Page, media: list[MediaAttachment]) -> None:
    """Remove the files of uploads whose transaction is rolled back."""
    setup = media_setup(page.settings)
    for m in media:
        discard_upload(setup, m.id, m)


def profile_pictures(page: Page) -> tuple[UploadSource | None, UploadSource | None]:
    """A new avatar and header, when the profile form carried them."""
    avatar, header = page.uploads.get("avatar"), page.uploads.get("header")
    return (_source(avatar) if avatar else None, _source(header) if header else None)
