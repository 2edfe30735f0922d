"""Model → Mastodon entity (plain dicts ready for JSON), named ``to_mastodon_*``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starling.models import Account, Application, MediaAttachment, Status, Tag, User
from starling.repositories.statuses import StatusBundle
from starling.web.mastodon import urls

JSON = dict[str, Any]

VERIFIED_ROLE_ID = "100"


def iso(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def iso_date(dt: datetime | None) -> str | None:
    return dt.strftime("%Y-%m-%d") if dt else None


def to_mastodon_account(account: Account, base: str) -> JSON:
    avatar = urls.avatar_url(base, account)
    header = urls.header_url(base, account)
    roles = []
    if account.verified_at is not None:
        roles.append({"id": VERIFIED_ROLE_ID, "name": "Verified", "color": "#1d9bf0"})
    data: JSON = {
        "id": str(account.id),
        "username": account.username,
        "acct": account.acct,
        "url": urls.account_url(base, account),
        "uri": urls.account_uri(base, account),
        "display_name": account.display_name,
        "note": account.note_html,
        "avatar": avatar,
        "avatar_static": avatar,
        "avatar_description": "",
        "header": header,
        "header_static": header,
        "header_description": "",
        "locked": account.locked,
        "fields": [
            {"name": f.get("name", ""), "value": f.get("value_html", f.get("value", "")), "verified_at": None}
            for f in (account.fields or [])
        ],
        "emojis": [],
        "bot": account.bot,
        "group": False,
        "discoverable": account.discoverable,
        "indexable": account.indexable,
        "noindex": not account.indexable,
        "hide_collections": False,
        "created_at": iso(account.created_at.replace(hour=0, minute=0, second=0, microsecond=0)),
        "last_status_at": iso_date(account.last_status_at),
        "statuses_count": account.statuses_count,
        "followers_count": account.followers_count,
        "following_count": account.following_count,
        "roles": roles,
    }
    if account.verified_at is not None:
        data["verified"] = {"verified_at": iso(account.verified_at), "note": account.verified_note or ""}
    if account.suspended_at is not None:
        data["suspended"] = True
    return data


def to_mastodon_credential_account(account: Account, user: User, base: str) -> JSON:
    data = to_mastodon_account(account, base)
    data["source"] = {
        "note": account.note,
        "fields": [
            {"name": f.get("name", ""), "value": f.get("value", ""), "verified_at": None}
            for f in (account.fields or [])
        ],
        "privacy": user.default_privacy,
        "sensitive": user.default_sensitive,
        "language": user.default_language or "",
        "follow_requests_count": 0,
        "hide_collections": False,
        "discoverable": account.discoverable,
        "indexable": account.indexable,
        "attribution_domains": [],
    }
    data["role"] = {
        "id": "3" if user.admin else "-99",
        "name": "Admin" if user.admin else "",
        "permissions": "1" if user.admin else "0",
        "color": "",
        "highlighted": user.admin,
    }
    return data


def to_mastodon_media(media: MediaAttachment, base: str) -> JSON:
    url, preview = urls.media_urls(base, media)
    meta = dict(media.meta or {})
    if media.focus_x is not None and media.focus_y is not None:
        meta["focus"] = {"x": media.focus_x, "y": media.focus_y}
    return {
        "id": str(media.id),
        "type": media.type,
        "url": url,
        "preview_url": preview,
        "remote_url": media.remote_url,
        "preview_remote_url": None,
        "text_url": None,
        "meta": meta,
        "description": media.description,
        "blurhash": media.blurhash,
    }


def to_mastodon_tag(tag: Tag, base: str) -> JSON:
    return {"name": tag.name, "url": urls.tag_url(base, tag.name)}


def to_mastodon_application(app: Application | None) -> JSON | None:
    if app is None:
        return None
    return {"name": app.name, "website": app.website}


def to_mastodon_status(status: Status, bundle: StatusBundle, base: str) -> JSON:
    author = bundle.accounts[status.account_id]
    reblog: JSON | None = None
    if status.reblog_of_id is not None:
        original = bundle.statuses.get(status.reblog_of_id)
        if original is not None:
            reblog = to_mastodon_status(original, bundle, base)
    viewer = bundle.viewer_id
    data: JSON = {
        "id": str(status.id),
        "uri": urls.status_uri(base, status, author),
        "url": None if status.reblog_of_id else urls.status_url(base, status, author),
        "created_at": iso(status.created_at),
        "edited_at": iso(status.edited_at),
        "account": to_mastodon_account(author, base),
        "content": "" if status.reblog_of_id else status.content,
        "visibility": status.visibility,
        "sensitive": status.sensitive,
        "spoiler_text": status.spoiler_text,
        "media_attachments": [to_mastodon_media(m, base) for m in bundle.media.get(status.id, [])],
        "application": to_mastodon_application(bundle.applications.get(status.application_id or 0)),
        "mentions": [
            {"id": str(a.id), "username": a.username, "acct": a.acct, "url": urls.account_url(base, a)}
            for a in bundle.mentions.get(status.id, [])
        ],
        "tags": [to_mastodon_tag(t, base) for t in bundle.tags.get(status.id, [])],
        "emojis": [],
        "reblogs_count": status.reblogs_count,
        "favourites_count": status.favourites_count,
        "replies_count": status.replies_count,
        "quotes_count": 0,
        "in_reply_to_id": str(status.in_reply_to_id) if status.in_reply_to_id else None,
        "in_reply_to_account_id": str(status.in_reply_to_account_id) if status.in_reply_to_account_id else None,
        "reblog": reblog,
        "poll": None,
        "card": None,
        "language": status.language,
        "filtered": [],
    }
    if viewer is not None:
        # A reblog answers for the status it wraps, as Mastodon's does.
        proper_id = status.reblog_of_id or status.id
        data["favourited"] = proper_id in bundle.favourited
        data["reblogged"] = proper_id in bundle.reblogged
        data["bookmarked"] = proper_id in bundle.bookmarked
        data["muted"] = False
        if status.account_id == viewer:
            data["pinned"] = status.id in bundle.pinned
    return data


def to_mastodon_statuses(statuses: list[Status], bundle: StatusBundle, base: str) -> list[JSON]:
    return [to_mastodon_status(s, bundle, base) for s in statuses]
