"""Deleting one's own status, with its reblogs; the answer keeps the source for "delete and redraft"."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.visibility import OPEN
from starling.jobs.queue import enqueue
from starling.models import Account, Status
from starling.repositories import status_queries as q
from starling.repositories.statuses import StatusBundle, get_status, load_bundle
from starling.services.media.cleanup import release_status_media
from starling.services.statuses.lookup import own_status
from starling.streaming.emit import stream_reblog_deleted, stream_status


@dataclass
class DeletedStatus:
    """The status as it was, with what rendering it needs loaded before the rows went away."""

    status: Status
    bundle: StatusBundle


async def delete_status(
    session: AsyncSession, account: Account, status_id: int, *, delete_media: bool = False
) -> DeletedStatus:
    status = await own_status(session, status_id, account.id)
    bundle = await load_bundle(session, [status], account.id)
    reblogs = await q.reblogs_of(session, status.id)
    if status.reblog_of_id is not None and await get_status(session, status.reblog_of_id) is not None:
        await q.add_to_counter(session, Status, status.reblog_of_id, "reblogs_count", -1)
    if status.in_reply_to_id is not None and status.visibility in OPEN:
        if await get_status(session, status.in_reply_to_id) is not None:
            await q.add_to_counter(session, Status, status.in_reply_to_id, "replies_count", -1)
    lost: Counter[int] = Counter(account_id for _, account_id in reblogs)
    if status.visibility != "direct":
        lost[account.id] += 1
    for reblog_id, reblogger_id in reblogs:
        stream_reblog_deleted(session, reblog_id, reblogger_id, status)
    await stream_status(session, "delete", status)
    if status.has_media:
        await release_status_media(session, status.id, delete=delete_media)
    await q.delete_statuses(session, [rid for rid, _ in reblogs])
    await q.delete_statuses(session, [status.id])
    await q.subtract_statuses_count(session, dict(lost))
    for reblog_id, _ in reblogs:
        enqueue(session, "remove_status_from_feeds", {"status_id": reblog_id})
    enqueue(session, "remove_status_from_feeds", {"status_id": status.id})
    return DeletedStatus(status=status, bundle=bundle)
