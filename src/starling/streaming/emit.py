"""Writing stream events in the transaction of the change that causes them.

Services call the functions here; the rows are added just before the outermost commit (a
``before_commit`` hook), so a rolled-back change leaves no event and a committed one always has its
event. Ids grow in commit order, which is what lets a client resume from "the last id I saw":

- on SQLite a writing transaction holds the database's single write lock (``BEGIN IMMEDIATE``) from
  its start to its commit, so ids are handed out in commit order already;
- on PostgreSQL a sequence hands out ids in insertion order, not commit order, so the rows are written
  by one statement that first takes a transaction-scoped advisory lock: event-writing commits queue on
  it for the short time between that statement and the commit, and a reader that has seen id N can
  never later find a new id below N. The same statement queues a ``NOTIFY`` (delivered at commit) so
  the hubs of every process wake.

After the commit the process-local signal fires (:mod:`starling.streaming.signals`).
"""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Insert, Integer, String, cast, column, event, func, insert, literal, select, true, values
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from starling.domain.ids import new_id
from starling.models import Job, Mention, Notification, Status, StatusTag, StreamEvent, Tag
from starling.models.base import IdType, UTCDateTime, utcnow
from starling.streaming import signals

PENDING = "starling_stream_events"
COMMITTED = "starling_stream_committed"
# pg_advisory_xact_lock key: "STRM".
LOCK_KEY = 0x5354524D
PG_CHANNEL = "starling_streaming"
# One commit with events in PRUNE_EVERY (per process) queues the pruning job.
PRUNE_EVERY = 256
PRUNE_JOB = "prune_stream_events"

_commits = itertools.count(1)


def emit(
    session: AsyncSession | Session,
    kind: str,
    *,
    account_id: int | None = None,
    object_id: int | None = None,
    visibility: str | None = None,
    audience: dict[str, Any] | None = None,
) -> None:
    """Queue one event for the session's transaction (written just before it commits)."""
    pending: list[dict[str, Any]] = session.info.setdefault(PENDING, [])
    pending.append({
        "kind": kind, "account_id": account_id, "object_id": object_id, "visibility": visibility,
        "audience": audience or {},
    })


async def status_audience(session: AsyncSession, status: Status) -> dict[str, Any]:
    """What a connection needs to decide alone whether a status event is for it."""
    mentions = sorted((await session.execute(
        select(Mention.account_id).where(Mention.status_id == status.id)
    )).scalars())
    tags = sorted({name.lower() for name in (await session.execute(
        select(Tag.name).join(StatusTag, StatusTag.tag_id == Tag.id).where(StatusTag.status_id == status.id)
    )).scalars()})
    reblog_author: int | None = None
    reblog_visibility: str | None = None
    if status.reblog_of_id is not None:
        original = await session.get(Status, status.reblog_of_id)
        if original is not None:
            reblog_author, reblog_visibility = original.account_id, original.visibility
    return {
        "local": bool(status.local),
        "mentions": mentions,
        "tags": tags,
        "reply": status.in_reply_to_id is not None,
        "reply_to": status.in_reply_to_account_id,
        "reblog_of": status.reblog_of_id,
        "reblog_author": reblog_author,
        "reblog_visibility": reblog_visibility,
        "media": bool(status.has_media),
    }


async def stream_status(session: AsyncSession, kind: str, status: Status) -> None:
    """``update`` (new status or reblog), ``status.update`` (edit) or ``delete`` (call it before the rows go)."""
    await session.flush()
    emit(session, kind, account_id=status.account_id, object_id=status.id, visibility=status.visibility,
         audience=await status_audience(session, status))


def stream_reblog_deleted(session: AsyncSession, reblog_id: int, reblogger_id: int, original: Status) -> None:
    """The ``delete`` of a reblog that goes away with the status it reblogged."""
    emit(session, "delete", account_id=reblogger_id, object_id=reblog_id, visibility="public", audience={
        "local": True, "mentions": [], "tags": [], "reply": False, "reply_to": None, "reblog_of": original.id,
        "reblog_author": original.account_id, "reblog_visibility": original.visibility, "media": False,
    })


def stream_notification(session: AsyncSession, notification: Notification) -> None:
    emit(session, "notification", account_id=notification.account_id, object_id=notification.id,
         audience={"from": notification.from_account_id, "type": notification.type})


def graph_changed(session: AsyncSession, *account_ids: int) -> None:
    """Follows, blocks, mutes, lists or followed tags of these accounts changed: their open streams reload
    what they know of them before the next event is judged."""
    emit(session, "_graph", audience={"accounts": sorted(set(account_ids))})


def token_revoked(session: AsyncSession, token_id: int) -> None:
    emit(session, "_revoke", object_id=token_id)


def account_suspended(session: AsyncSession, account_id: int) -> None:
    emit(session, "_suspend", account_id=account_id)


@event.listens_for(Session, "before_commit")
def _write_pending(session: Session) -> None:
    if session.in_nested_transaction():
        return
    pending: list[dict[str, Any]] | None = session.info.pop(PENDING, None)
    if not pending:
        return
    now = utcnow()
    if next(_commits) % PRUNE_EVERY == 0:
        session.add(Job(id=new_id(), kind=PRUNE_JOB, payload={}, run_at=now, attempts=0, max_attempts=3,
                        created_at=now))
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_locked_insert(pending, now))
    else:
        session.add_all([StreamEvent(created_at=now, **row) for row in pending])
    session.info[COMMITTED] = True


def _locked_insert(pending: list[dict[str, Any]], now: datetime) -> Insert:
    """PostgreSQL: one statement that takes the event lock, queues the ``NOTIFY`` and writes the rows.

    Whatever runs between taking the lock and the commit makes every other event-writing commit wait, and
    under load each round trip there also waits for the process to be given the CPU again: so the lock
    covers this one statement and the ``COMMIT``. The lock is a CTE that the rows are joined to, so it is
    taken once, before the first row draws its id from the sequence (which is what keeps ids in commit
    order, and in the order they were emitted); the ``NOTIFY`` is delivered at the commit, whenever it is
    queued."""
    lock = select(
        func.pg_advisory_xact_lock(LOCK_KEY).label("locked"), func.pg_notify(PG_CHANNEL, "").label("notified")
    ).cte("event_lock")
    rows = values(
        column("kind", String(32)), column("account_id", IdType), column("object_id", IdType),
        column("visibility", String(16)), column("audience", JSON), column("position", Integer), name="event_rows",
    ).data([(r["kind"], r["account_id"], r["object_id"], r["visibility"], r["audience"], i)
            for i, r in enumerate(pending)])
    # A column whose every row is NULL would come out of VALUES as text: the casts give it its type.
    chosen = select(
        rows.c.kind, cast(rows.c.account_id, IdType), cast(rows.c.object_id, IdType),
        cast(rows.c.visibility, String(16)), rows.c.audience,
        literal(now, UTCDateTime()).label("created_at"),
    ).select_from(rows.join(lock, true())).order_by(rows.c.position)
    return insert(StreamEvent).from_select(
        ["kind", "account_id", "object_id", "visibility", "audience", "created_at"], chosen
    )


@event.listens_for(Session, "after_commit")
def _signal_committed(session: Session) -> None:
    if session.info.pop(COMMITTED, False):
        signals.events_committed()


@event.listens_for(Session, "after_soft_rollback")
def _forget_pending(session: Session, previous_transaction: Any) -> None:
    if previous_transaction.parent is None and not previous_transaction.nested:
        session.info.pop(PENDING, None)
        session.info.pop(COMMITTED, None)
