"""Posting a status: validation, rendering, mentions, tags, media, counters, and the jobs it sets off."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.errors import NotFound, Unprocessable
from starling.domain.ids import new_id
from starling.domain.text import clean_text, normalize_language
from starling.domain.visibility import OPEN, VISIBILITIES
from starling.jobs.queue import enqueue
from starling.models import Account, IdempotencyKey, MediaAttachment, Mention, Status, StatusTag, Tag, User
from starling.models.base import utcnow
from starling.repositories import status_queries as q
from starling.repositories.statuses import get_status
from starling.repositories.visibility import can_see
from starling.services.statuses.compose import StatusRules, attach, check_length, compose, pick_media
from starling.streaming.emit import stream_status

IDEMPOTENCY_WINDOW = timedelta(hours=1)


@dataclass
class NewStatus:
    text: str | None = None
    media_ids: list[int] = field(default_factory=list)
    spoiler_text: str | None = None
    sensitive: bool | None = None
    visibility: str | None = None
    language: str | None = None
    in_reply_to_id: int | None = None
    idempotency_key: str | None = None
    application_id: int | None = None
    scheduled_at: str | None = None
    has_poll: bool = False


@dataclass
class Posted:
    """What posting made: the status, and what it had in hand to show it (its mentions, tags and media),
    so that answering needs no query. ``replayed`` when an earlier request with the same idempotency key
    made the status: then nothing was made here and only ``status`` is set."""

    status: Status
    mentioned: list[Account] = field(default_factory=list)
    tags: list[Tag] = field(default_factory=list)
    media: list[MediaAttachment] = field(default_factory=list)
    replayed: bool = False


def _key(raw: str) -> str:
    return raw if len(raw) <= 255 else hashlib.sha256(raw.encode()).hexdigest()


async def _replay(session: AsyncSession, account: Account, key: str, status_id: int) -> Status | None:
    """Claim ``key`` for ``status_id``, or return the status an earlier request with the key made."""
    now = utcnow()
    claimed = await q.insert_ignoring_conflict(
        session, IdempotencyKey,
        {"account_id": account.id, "key": key, "status_id": status_id, "created_at": now},
        ["account_id", "key"],
    )
    if claimed:
        return None
    row = await q.idempotency_key(session, account.id, key)
    if row is None:
        return None
    if row.created_at > now - IDEMPOTENCY_WINDOW:
        earlier = await get_status(session, row.status_id)
        if earlier is not None and earlier.account_id == account.id:
            return earlier
    row.status_id = status_id
    row.created_at = now
    return None


async def _parent(session: AsyncSession, in_reply_to_id: int, account: Account) -> Status:
    parent = await get_status(session, in_reply_to_id)
    if parent is not None and parent.reblog_of_id is not None:
        parent = await get_status(session, parent.reblog_of_id)
    if parent is None or not await can_see(session, parent, account.id):
        raise NotFound()
    return parent


def _replied_account(parent: Status, account: Account) -> int:
    """Continuing one's own reply keeps naming the account the thread answers, as Mastodon does."""
    if parent.account_id == account.id and parent.in_reply_to_account_id is not None:
        return parent.in_reply_to_account_id
    return parent.account_id


def _visibility(value: str | None, user: User) -> str:
    if value is None or value == "":
        return user.default_privacy if user.default_privacy in VISIBILITIES else "public"
    if value not in VISIBILITIES:
        raise Unprocessable("Validation failed: Visibility is not included in the list")
    return value


async def post_status(
    session: AsyncSession, account: Account, user: User, data: NewStatus, rules: StatusRules
) -> Posted:
    """Create a status and queue its fan-out and mention notifications (all in the caller's transaction).

    With an ``Idempotency-Key`` seen from the same account within the hour, the status that key made
    is returned instead and nothing is written."""
    if data.scheduled_at:
        raise Unprocessable("Validation failed: Scheduled statuses are not supported yet")
    if data.has_poll:
        raise Unprocessable("Validation failed: Polls are not supported yet")
    status_id = new_id()
    if data.idempotency_key:
        earlier = await _replay(session, account, _key(data.idempotency_key), status_id)
        if earlier is not None:
            return Posted(earlier, replayed=True)
    text = clean_text(data.text or "")
    spoiler_text = clean_text(data.spoiler_text or "").strip()
    visibility = _visibility(data.visibility, user)
    media = await pick_media(session, account, data.media_ids, rules)
    if not text.strip() and not media:
        raise Unprocessable("Validation failed: Text can't be blank")
    check_length(text, spoiler_text, rules)
    parent = await _parent(session, data.in_reply_to_id, account) if data.in_reply_to_id else None
    language = normalize_language(data.language) or normalize_language(user.default_language)
    sensitive = data.sensitive if data.sensitive is not None else user.default_sensitive
    composed = await compose(session, text, account, rules)
    now = utcnow()
    status = Status(
        id=status_id, account_id=account.id, uri=None, url=None, local=True, text=text,
        content=composed.content, spoiler_text=spoiler_text, sensitive=bool(sensitive or spoiler_text),
        visibility=visibility, language=language,
        in_reply_to_id=parent.id if parent else None,
        in_reply_to_account_id=_replied_account(parent, account) if parent else None,
        reblog_of_id=None,
        conversation_id=(parent.conversation_id or parent.id) if parent else status_id,
        application_id=data.application_id, has_media=bool(media),
        replies_count=0, reblogs_count=0, favourites_count=0, created_at=now, edited_at=None,
    )
    session.add(status)
    await session.flush()
    attach(media, status.id)
    for mentioned in composed.mentioned:
        session.add(Mention(status_id=status.id, account_id=mentioned.id))
    for tag in composed.tags:
        session.add(StatusTag(status_id=status.id, tag_id=tag.id))
    if visibility != "direct":
        await q.add_to_counter(session, Account, account.id, "statuses_count", 1, also={"last_status_at": now})
    if parent is not None and visibility in OPEN:
        await q.add_to_counter(session, Status, parent.id, "replies_count", 1)
    await session.flush()
    enqueue(session, "fan_out_status", {"status_id": status.id})
    if composed.mentioned:  # nothing to tell otherwise: a third fewer jobs per post
        enqueue(session, "notify_mentions", {"status_id": status.id})
    await stream_status(session, "update", status)
    return Posted(status, mentioned=list(composed.mentioned), tags=list(composed.tags), media=media)
