"""Editing one's own profile and posting defaults (``PATCH /api/v1/accounts/update_credentials``)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.errors import Unprocessable
from starling.domain.text import render_html
from starling.models import Account, User
from starling.models.base import utcnow
from starling.services.accounts.profile_html import mention_resolver, render_field_value
from starling.services.accounts.verify_credentials import Credentials, verify_credentials
from starling.services.media.profile_images import set_profile_image
from starling.services.media.setup import MediaSetup
from starling.services.media.source import UploadSource

MAX_DISPLAY_NAME = 30
MAX_NOTE = 500
MAX_FIELDS = 4
MAX_FIELD_NAME = 255
MAX_FIELD_VALUE = 255
PRIVACIES = ("public", "unlisted", "private")
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")


@dataclass
class ProfileChanges:
    """``None`` leaves a value as it is."""

    display_name: str | None = None
    note: str | None = None
    locked: bool | None = None
    bot: bool | None = None
    discoverable: bool | None = None
    indexable: bool | None = None
    fields: list[tuple[str, str]] | None = None
    privacy: str | None = None
    sensitive: bool | None = None
    language: str | None = None
    # New pictures (docs/MEDIA.md); they need ``media`` passed to ``update_credentials``.
    avatar: UploadSource | None = None
    header: UploadSource | None = None


def _check(changes: ProfileChanges) -> list[str]:
    problems = []
    if changes.display_name is not None and len(changes.display_name.strip()) > MAX_DISPLAY_NAME:
        problems.append(f"Display name is too long (maximum is {MAX_DISPLAY_NAME} characters)")
    if changes.note is not None and len(changes.note) > MAX_NOTE:
        problems.append(f"Note is too long (maximum is {MAX_NOTE} characters)")
    if changes.fields is not None:
        if len(changes.fields) > MAX_FIELDS:
            problems.append(f"Fields is too long (maximum is {MAX_FIELDS} fields)")
        if any(len(name) > MAX_FIELD_NAME for name, _ in changes.fields):
            problems.append(f"Field name is too long (maximum is {MAX_FIELD_NAME} characters)")
        if any(len(value) > MAX_FIELD_VALUE for _, value in changes.fields):
            problems.append(f"Field value is too long (maximum is {MAX_FIELD_VALUE} characters)")
    if changes.privacy is not None and changes.privacy not in PRIVACIES:
        problems.append("Default privacy is not included in the list")
    if changes.language and not _LANGUAGE.match(changes.language):
        problems.append("Default language is not included in the list")
    return problems


async def update_credentials(
    session: AsyncSession, account: Account, user: User, changes: ProfileChanges, *, base_url: str, local_domain: str,
    media: MediaSetup | None = None,
) -> Credentials:
    problems = _check(changes)
    if problems:
        raise Unprocessable("Validation failed: " + ", ".join(problems))
    for which, picture in (("avatar", changes.avatar), ("header", changes.header)):
        if picture is not None:
            if media is None:
                raise Unprocessable("Media uploads are not available", field=which)
            await set_profile_image(session, media, account, "avatar" if which == "avatar" else "header", picture)
    fields = None
    if changes.fields is not None:
        fields = [(n.strip(), v.strip()) for n, v in changes.fields]
        fields = [(n, v) for n, v in fields if n or v]
    texts = ([changes.note] if changes.note is not None else []) + [v for _, v in fields or []]
    resolve = await mention_resolver(session, texts, base_url=base_url, local_domain=local_domain)
    if changes.display_name is not None:
        account.display_name = changes.display_name.strip()
    if changes.note is not None:
        account.note = changes.note
        account.note_html = render_html(changes.note, base_url=base_url, resolve_mention=resolve)
    if fields is not None:
        account.fields = [
            {"name": n, "value": v, "value_html": render_field_value(v, base_url=base_url, resolve=resolve)}
            for n, v in fields
        ]
    for name in ("locked", "bot", "discoverable", "indexable"):
        value = getattr(changes, name)
        if value is not None:
            setattr(account, name, value)
    if changes.privacy is not None:
        user.default_privacy = changes.privacy
    if changes.sensitive is not None:
        user.default_sensitive = changes.sensitive
    if changes.language is not None:
        user.default_language = changes.language or None
    account.updated_at = utcnow()
    await session.flush()
    return await verify_credentials(session, account, user)

