"""Public addresses of local things, in one place."""

from __future__ import annotations

from starling.models import Account, MediaAttachment, Status


def account_url(base: str, account: Account) -> str:
    if account.url:
        return account.url
    return f"{base}/@{account.username}"


def account_uri(base: str, account: Account) -> str:
    if account.uri:
        return account.uri
    return f"{base}/users/{account.username}"


def status_url(base: str, status: Status, author: Account) -> str:
    if status.url:
        return status.url
    return f"{base}/@{author.username}/{status.id}"


def status_uri(base: str, status: Status, author: Account) -> str:
    if status.uri:
        return status.uri
    if status.reblog_of_id:
        return f"{base}/users/{author.username}/statuses/{status.id}/activity"
    return f"{base}/users/{author.username}/statuses/{status.id}"


def tag_url(base: str, name: str) -> str:
    return f"{base}/tags/{name.lower()}"


# Where stored media are served from when it is not the server itself (a CDN, a media domain);
# set from ``Settings.media_base_url`` when the app is made.
_media_base_url: str | None = None


def set_media_base_url(url: str | None) -> None:
    global _media_base_url
    _media_base_url = url.rstrip("/") if url else None


def media_file_url(base: str, path: str | None) -> str | None:
    if not path:
        return None
    return f"{_media_base_url or base + '/system/media'}/{path}"


def avatar_url(base: str, account: Account) -> str:
    return media_file_url(base, account.avatar_path) or f"{base}/static/avatar-missing.png"


def header_url(base: str, account: Account) -> str:
    return media_file_url(base, account.header_path) or f"{base}/static/header-missing.png"


def media_urls(base: str, media: MediaAttachment) -> tuple[str | None, str | None]:
    return media_file_url(base, media.file_path), media_file_url(base, media.preview_path)
