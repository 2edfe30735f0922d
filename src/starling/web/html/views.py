"""What the page templates show: accounts and statuses turned into plain values, loaded in batch.

Templates never touch models. Text written here is either escaped by Jinja2 (names, notes' source,
content warnings, alt text) or already safe HTML: local content and bios are rendered by the text
renderer, which escapes every token; anything from another server is cleaned with nh3 first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

import nh3
from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.visibility import may_reblog
from starling.models import Account, MediaAttachment, Status
from starling.repositories.accounts import accounts_by_ids
from starling.repositories.statuses import StatusBundle, load_bundle
from starling.web.mastodon import urls

_TAGS = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")


def safe_html(html: str, *, remote: bool) -> Markup:
    """Local HTML comes from the escaping text renderer; remote HTML is sanitised before it is trusted."""
    return Markup(nh3.clean(html) if remote else html)


def plain_text(html: str, limit: int = 200) -> str:
    """Text of an HTML fragment for titles and descriptions (Jinja2 escapes it again on output)."""
    text = _TAGS.sub(" ", html.replace("</p>", "\n").replace("<br>", "\n"))
    text = _SPACE.sub(" ", Markup(text).unescape()).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def when(dt: datetime, now: datetime | None = None) -> str:
    """Short age of a post: 42s, 5m, 3h, 6d, then the date."""
    now = now or datetime.now(UTC)
    seconds = max(0, int((now - dt).total_seconds()))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h"
    if seconds < 7 * 86400:
        return f"{seconds // 86400}d"
    return dt.strftime("%Y-%m-%d")


def iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class AccountView:
    id: int
    username: str
    acct: str
    display_name: str
    path: str  # this server's page for the account
    url: str  # the account's public address (its home server's, for a remote one)
    avatar: str
    header: str
    note: Markup
    note_text: str
    fields: list[tuple[str, Markup]]
    locked: bool
    bot: bool
    local: bool
    verified_note: str | None
    statuses_count: int
    followers_count: int
    following_count: int
    created_at: datetime

    @property
    def name(self) -> str:
        return self.display_name or self.username


def same_site(url: str, base: str) -> str:
    """This server's own files by path: shorter pages, and never a second origin for the same file."""
    return url[len(base):] if url.startswith(base + "/") else url


def absolute(url: str, base: str) -> str:
    """A full address, for what is read elsewhere (OpenGraph, RSS)."""
    return base + url if url.startswith("/") else url


def account_view(account: Account, base: str) -> AccountView:
    remote = account.domain is not None
    return AccountView(
        id=account.id,
        username=account.username,
        acct=account.acct,
        display_name=account.display_name,
        path=f"/@{account.acct}",
        url=urls.account_url(base, account),
        avatar=same_site(urls.avatar_url(base, account), base),
        header=same_site(urls.header_url(base, account), base),
        note=safe_html(account.note_html or "", remote=remote),
        note_text=plain_text(account.note_html or ""),
        fields=[
            (str(f.get("name", "")), safe_html(str(f.get("value_html", f.get("value", ""))), remote=True))
            for f in (account.fields or [])
        ],
        locked=account.locked,
        bot=account.bot,
        local=not remote,
        verified_note=(account.verified_note or "") if account.verified_at is not None else None,
        statuses_count=account.statuses_count,
        followers_count=account.followers_count,
        following_count=account.following_count,
        created_at=account.created_at,
    )


@dataclass(frozen=True)
class MediaView:
    id: int
    type: str
    url: str
    preview: str
    description: str
    width: int | None
    height: int | None
    blurhash: str | None


def _size(meta: dict[str, object], key: str) -> tuple[int | None, int | None]:
    part = meta.get(key)
    if isinstance(part, dict):
        w, h = part.get("width"), part.get("height")
        if isinstance(w, int) and isinstance(h, int) and w > 0 and h > 0:
            return w, h
    return None, None


def media_view(media: MediaAttachment, base: str) -> MediaView | None:
    url, preview = urls.media_urls(base, media)
    full = url or media.remote_url
    if full is None:
        return None
    meta = dict(media.meta or {})
    width, height = _size(meta, "small")
    if width is None:
        width, height = _size(meta, "original")
    return MediaView(
        id=media.id, type=media.type, url=same_site(full, base), preview=same_site(preview or full, base),
        description=media.description or "",
        width=width, height=height, blurhash=media.blurhash,
    )


@dataclass
class StatusView:
    id: int  # the status shown (an original, never a reblog)
    entry_id: int  # the timeline entry: the reblog's id when reblogged
    path: str
    url: str
    author: AccountView
    reblogged_by: AccountView | None
    content: Markup
    text: str
    spoiler_text: str
    sensitive: bool
    visibility: str
    language: str | None
    created_at: datetime
    edited_at: datetime | None
    in_reply_to_id: int | None
    in_reply_to_path: str | None
    media: list[MediaView] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    replies_count: int = 0
    reblogs_count: int = 0
    favourites_count: int = 0
    favourited: bool = False
    reblogged: bool = False
    bookmarked: bool = False
    mine: bool = False
    can_reblog: bool = False

    @property
    def when(self) -> str:
        return when(self.created_at)

    @property
    def iso(self) -> str:
        return iso(self.created_at)


def _status_view(
    entry: Status, bundle: StatusBundle, base: str, accounts: dict[int, AccountView], viewer_id: int | None
) -> StatusView | None:
    status = entry
    reblogger: AccountView | None = None
    if entry.reblog_of_id is not None:
        original = bundle.statuses.get(entry.reblog_of_id)
        if original is None:
            return None
        reblogger = accounts[entry.account_id]
        status = original
    author = accounts[status.account_id]
    remote = not author.local
    parent_author = accounts.get(status.in_reply_to_account_id or 0)
    media = [v for v in (media_view(m, base) for m in bundle.media.get(status.id, [])) if v is not None]
    return StatusView(
        id=status.id,
        entry_id=entry.id,
        path=f"{author.path}/{status.id}",
        url=urls.status_url(base, status, bundle.accounts[status.account_id]),
        author=author,
        reblogged_by=reblogger,
        content=safe_html(status.content, remote=remote),
        text=status.text,
        spoiler_text=status.spoiler_text,
        sensitive=status.sensitive,
        visibility=status.visibility,
        language=status.language,
        created_at=status.created_at,
        edited_at=status.edited_at,
        in_reply_to_id=status.in_reply_to_id,
        in_reply_to_path=(
            f"{parent_author.path if parent_author else author.path}/{status.in_reply_to_id}"
            if status.in_reply_to_id else None
        ),
        media=media,
        tags=[t.name for t in bundle.tags.get(status.id, [])],
        replies_count=status.replies_count,
        reblogs_count=status.reblogs_count,
        favourites_count=status.favourites_count,
        favourited=status.id in bundle.favourited,
        reblogged=status.id in bundle.reblogged,
        bookmarked=status.id in bundle.bookmarked,
        mine=viewer_id is not None and status.account_id == viewer_id,
        can_reblog=may_reblog(status.visibility) or (status.visibility == "private" and status.account_id == viewer_id),
    )


async def status_views(
    session: AsyncSession, statuses: list[Status], viewer_id: int | None, base: str
) -> list[StatusView]:
    """Views of ``statuses`` in order, with the batch loader the API uses (a fixed number of queries)."""
    bundle = await load_bundle(session, statuses, viewer_id)
    missing = {
        s.in_reply_to_account_id for s in bundle.statuses.values() if s.in_reply_to_account_id
    } - bundle.accounts.keys()
    if missing:
        bundle.accounts.update(await accounts_by_ids(session, missing))
    accounts = {i: account_view(a, base) for i, a in bundle.accounts.items()}
    views = (_status_view(s, bundle, base, accounts, viewer_id) for s in statuses)
    return [v for v in views if v is not None]
