"""Fan-out on write: a new status or reblog goes into the home feeds of those it reaches."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from starling.jobs.queue import enqueue
from starling.models import Account, Status
from starling.repositories import timelines

# One fan-out in TRIM_EVERY also queues the trimming of one bucket (of TRIM_BUCKETS) of the feeds it reached,
# picked by the status id. A feed is then trimmed about once per TRIM_EVERY * TRIM_BUCKETS new entries, so
# feeds stay near FEED_SIZE while the cost is spread thinly over the fan-outs and no scheduler is needed.
TRIM_EVERY = 4
TRIM_BUCKETS = 16


async def fan_out_status(session: AsyncSession, status_id: int) -> None:
    """Author + local followers (for direct: author + mentioned local accounts), and for an original public
    status the local accounts following one of its tags; each at most once."""
    status = await session.get(Status, status_id)
    if status is None:
        return
    author = await session.get(Account, status.account_id)
    if author is None or author.suspended_at is not None:
        return
    original: Status | None = None
    if status.reblog_of_id is not None:
        original = await session.get(Status, status.reblog_of_id)
        if original is None:
            return
    await timelines.fan_out(session, status, original, to_author=author.domain is None)
    if status.visibility != "direct" and status.id % TRIM_EVERY == 0:
        bucket = status.id // TRIM_EVERY % TRIM_BUCKETS
        enqueue(session, "trim_home_feeds", {"account_id": author.id, "bucket": bucket})
        if timelines.reaches_tag_followers(status):
            # Feeds reached only through followed tags are trimmed here, in the same spread-out way.
            await timelines.trim_feeds(session, timelines.tag_follower_bucket(status.id, bucket, TRIM_BUCKETS))


async def trim_follower_feeds(session: AsyncSession, author_id: int, bucket: int) -> int:
    """Trim the feeds of the author's local followers in ``bucket`` to their newest entries."""
    return await timelines.trim_feeds(session, timelines.follower_bucket(author_id, bucket % TRIM_BUCKETS,
                                                                         TRIM_BUCKETS))
