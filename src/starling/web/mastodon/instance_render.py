"""The Instance entities (v1 and v2), rules and the extended description, as Mastodon 4.5 shows them."""

from __future__ import annotations

from typing import Any

from starling import MASTODON_COMPAT_VERSION, __version__
from starling.config import Settings
from starling.domain.text import render_html
from starling.models import Rule
from starling.models.base import utcnow
from starling.services.instance.describe_instance import InstanceInfo
from starling.services.media.sniff import SUPPORTED_MIME_TYPES
from starling.web.mastodon.render import iso

JSON = dict[str, Any]

VERSION = f"{MASTODON_COMPAT_VERSION} (compatible; Starling {__version__})"
API_VERSIONS = {"mastodon": 6}
LANGUAGES = ["en"]

MAX_FEATURED_TAGS = 10
MAX_PINNED_STATUSES = 5
DESCRIPTION_LIMIT = 1_500
POLLS = {"max_options": 4, "max_characters_per_option": 50, "min_expiration": 300, "max_expiration": 2_629_746}

THUMBNAIL_PATH = "/static/header-missing.png"
ICON_PATH = "/static/avatar-missing.png"
ICON_SIZE = "120x120"


def to_mastodon_rule(rule: Rule) -> JSON:
    return {"id": str(rule.id), "text": rule.text, "hint": rule.hint, "translations": {}}


def _statuses(settings: Settings) -> JSON:
    return {
        "max_characters": settings.max_status_chars,
        "max_media_attachments": settings.max_media_attachments,
        "characters_reserved_per_url": settings.url_length,
    }


def _media(settings: Settings, *, with_description: bool) -> JSON:
    """The media limits the pipeline enforces (docs/MEDIA.md), from the settings."""
    media: JSON = {
        "supported_mime_types": list(SUPPORTED_MIME_TYPES),
        "image_size_limit": settings.media_image_size_limit,
        "image_matrix_limit": settings.media_image_max_pixels,
        "video_size_limit": settings.media_video_size_limit,
        "video_frame_rate_limit": settings.media_video_max_frame_rate,
        "video_matrix_limit": settings.media_video_max_pixels,
    }
    if with_description:
        media["description_limit"] = DESCRIPTION_LIMIT
    return media


def _source_url(info: InstanceInfo, settings: Settings) -> str:
    return info.source_url or settings.base_url


def to_mastodon_instance(info: InstanceInfo, settings: Settings, contact_account: JSON | None) -> JSON:
    """The v2 entity (``GET /api/v2/instance``)."""
    base = settings.base_url
    thumbnail = base + THUMBNAIL_PATH
    return {
        "domain": settings.server_name,
        "title": info.title,
        "version": VERSION,
        "source_url": _source_url(info, settings),
        "description": info.description,
        "usage": {"users": {"active_month": info.stats.active_month}},
        "thumbnail": {"url": thumbnail, "blurhash": None, "description": None, "versions": {"@1x": thumbnail}},
        "icon": [{"src": base + ICON_PATH, "size": ICON_SIZE}],
        "languages": list(LANGUAGES),
        "configuration": {
            "urls": {
                "streaming": settings.streaming_url,
                "status": None,
                "about": None,
                "privacy_policy": None,
                "terms_of_service": None,
            },
            "vapid": {"public_key": ""},
            "accounts": {"max_featured_tags": MAX_FEATURED_TAGS, "max_pinned_statuses": MAX_PINNED_STATUSES},
            "statuses": _statuses(settings),
            "media_attachments": _media(settings, with_description=True),
            "polls": dict(POLLS),
            "translation": {"enabled": False},
            "limited_federation": False,
        },
        "registrations": {
            "enabled": info.registrations_open,
            "approval_required": info.approval_required,
            "reason_required": info.approval_required,
            "message": info.closed_registrations_message,
            "min_age": None,
            "url": None,
        },
        "api_versions": dict(API_VERSIONS),
        "contact": {"email": info.contact_email, "account": contact_account},
        "rules": [to_mastodon_rule(r) for r in info.rules],
    }


def to_mastodon_v1_instance(info: InstanceInfo, settings: Settings, contact_account: JSON | None) -> JSON:
    """The deprecated v1 entity (``GET /api/v1/instance``), still read by many clients."""
    return {
        "uri": settings.server_name,
        "title": info.title,
        "short_description": info.description,
        "description": info.description,
        "email": info.contact_email,
        "version": VERSION,
        "urls": {"streaming_api": settings.streaming_url},
        "stats": {
            "user_count": info.stats.user_count,
            "status_count": info.stats.status_count,
            "domain_count": info.stats.domain_count,
        },
        "thumbnail": settings.base_url + THUMBNAIL_PATH,
        "languages": list(LANGUAGES),
        "registrations": info.registrations_open,
        "approval_required": info.approval_required,
        "invites_enabled": False,
        "configuration": {
            "accounts": {"max_featured_tags": MAX_FEATURED_TAGS},
            "statuses": _statuses(settings),
            "media_attachments": _media(settings, with_description=False),
            "polls": dict(POLLS),
        },
        "contact_account": contact_account,
        "rules": [to_mastodon_rule(r) for r in info.rules],
    }


def to_mastodon_extended_description(info: InstanceInfo, settings: Settings) -> JSON:
    """Plain text rendered as paragraphs; without an admin text, the short description stands in."""
    text = info.extended_description or info.description
    return {
        "updated_at": iso(info.extended_description_updated_at or utcnow()),
        "content": render_html(text, base_url=settings.base_url, resolve_mention=lambda _u, _d: None),
    }
