"""What posting and editing share: the limits, the text rules, and turning text into content,
mentions and tags."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from starling.config import Settings
from starling.domain.errors import Unprocessable
from starling.domain.ids import new_id
from starling.domain.text import (
    extract_mentions,
    extract_tags,
    normalize_tag,
    render_html,
    status_length,
)
from starling.models import Account, MediaAttachment, Tag
from starling.models.base import utcnow
from starling.repositories import status_queries as q


@dataclass(frozen=True)
class StatusRules:
    max_chars: int
    url_length: int
    max_media: int
    local_domain: str
    base_url: str

    @classmethod
    def from_settings(cls, settings: Settings) -> StatusRules:
        return cls(
            max_chars=settings.max_status_chars,
            url_length=settings.url_length,
            max_media=settings.max_media_attachments,
            local_domain=settings.server_name,
            base_url=settings.base_url,
        )


@dataclass
class Composed:
    content: str
    mentioned: list[Account]
    tags: list[Tag]


def check_length(text: str, spoiler_text: str, rules: StatusRules) -> None:
    if status_length(spoiler_text + text, url_length=rules.url_length) > rules.max_chars:
        raise Unprocessable(f"Validation failed: Text character limit of {rules.max_chars} exceeded")


def _profile_url(account: Account, base_url: str) -> str:
    return account.url or f"{base_url}/@{account.username}"


async def compose(session: AsyncSession, text: str, author: Account, rules: StatusRules) -> Composed:
    """Render ``text``, resolving mentions of known accounts; unknown ones stay plain text."""
    local = rules.local_domain.lower()

    def key(username: str, domain: str | None) -> tuple[str, str | None]:
        d = domain.lower() if domain else None
        return username.lower(), None if d == local else d

    handles = [key(u, d) for u, d in extract_mentions(text)]
    accounts = await q.find_mentionable(session, handles)

    def resolve(username: str, domain: str | None) -> str | None:
        account = accounts.get(key(username, domain))
        return _profile_url(account, rules.base_url) if account is not None else None

    content = render_html(text, base_url=rules.base_url, resolve_mention=resolve)
    mentioned = [accounts[h] for h in dict.fromkeys(handles) if h in accounts and accounts[h].id != author.id]
    names = {normalize_tag(n): n for n in extract_tags(text)}
    tags = await q.upsert_tags(session, names, (new_id() for _ in names), utcnow())
    return Composed(content=content, mentioned=mentioned, tags=tags)


async def pick_media(
    session: AsyncSession, account: Account, media_ids: Sequence[int], rules: StatusRules,
    status_id: int | None = None,
) -> list[MediaAttachment]:
    """The account's own free media in the order given; 422 on too many, unknown or unfinished ones."""
    ids = list(dict.fromkeys(media_ids))
    if len(ids) > rules.max_media:
        raise Unprocessable(f"Validation failed: Cannot attach more than {rules.max_media} files")
    found = await q.attachable_media(session, account.id, ids, status_id)
    missing = [str(i) for i in ids if i not in found]
    if missing:
        raise Unprocessable(
            "Validation failed: Could not find media attachments with the following IDs: " + ", ".join(missing)
        )
    media = [found[i] for i in ids]
    if any(m.processing not in ("done", "") for m in media):
        raise Unprocessable("Validation failed: Cannot attach files that have not finished processing")
    return media


def attach(media: list[MediaAttachment], status_id: int) -> None:
    for position, m in enumerate(media):
        m.status_id = status_id
        m.position = position
