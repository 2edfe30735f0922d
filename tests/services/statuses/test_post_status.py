"""The posting service on its own: rules that are awkward to reach through HTTP."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from starling.adapters.db import unit_of_work
from starling.bootstrap import Container
from starling.domain.errors import NotFound, Unprocessable
from starling.models import Account, IdempotencyKey, Job, Status, Tag, User
from starling.models.base import utcnow
from starling.repositories import status_queries as q
from starling.services.statuses import post_status as posting
from starling.services.statuses.compose import StatusRules
from starling.services.statuses.post_status import NewStatus
from tests.conftest import MakeActor


async def post_status(session: AsyncSession, account: Account, user: User, data: NewStatus,
                      rules: StatusRules) -> Status:
    """The status the service made (or, replayed, the earlier one)."""
    return (await posting.post_status(session, account, user, data, rules)).status


def _rules(container: Container) -> StatusRules:
    return StatusRules.from_settings(container.settings)


async def _load(session: AsyncSession, actor_id: str) -> tuple[Account, User]:
    account = await session.get(Account, int(actor_id))
    assert account is not None
    user = (await session.execute(select(User).where(User.account_id == int(actor_id)))).scalar_one()
    return account, user


async def test_post_queues_fan_out_and_mentions(container: Container, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    await make_actor("bob")
    async with unit_of_work(container.sessions) as session:
        account, user = await _load(session, alice.id)
        status = await post_status(session, account, user, NewStatus(text="hi @bob"), _rules(container))
        jobs = (await session.execute(select(Job.kind, Job.payload))).all()
    assert sorted(jobs, key=lambda j: j[0]) == [
        ("fan_out_status", {"status_id": status.id}),
        ("notify_mentions", {"status_id": status.id}),
    ]


async def test_post_without_mentions_queues_no_mention_job(container: Container, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    async with unit_of_work(container.sessions) as session:
        account, user = await _load(session, alice.id)
        status = await post_status(session, account, user, NewStatus(text="hi @nobody"), _rules(container))
        jobs = (await session.execute(select(Job.kind, Job.payload))).all()
    assert [tuple(j) for j in jobs if j[0] != "prune_stream_events"] == [
        ("fan_out_status", {"status_id": status.id}),
    ]


async def test_direct_posts_do_not_count(container: Container, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    async with unit_of_work(container.sessions) as session:
        account, user = await _load(session, alice.id)
        root = await post_status(session, account, user, NewStatus(text="root"), _rules(container))
        await post_status(
            session, account, user, NewStatus(text="dm", visibility="direct", in_reply_to_id=root.id),
            _rules(container),
        )
    async with unit_of_work(container.sessions, write=False) as session:
        a = await session.get(Account, int(alice.id))
        r = await session.get(Status, root.id)
        assert a is not None and r is not None
        assert a.statuses_count == 1
        assert r.replies_count == 0


async def test_nul_characters_are_dropped(container: Container, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    async with unit_of_work(container.sessions) as session:
        account, user = await _load(session, alice.id)
        status = await post_status(
            session, account, user, NewStatus(text="a\x00b", spoiler_text="c\x00w"), _rules(container)
        )
    assert status.text == "ab" and status.spoiler_text == "cw"


async def test_unknown_language_falls_back_to_default(container: Container, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    async with unit_of_work(container.sessions) as session:
        account, user = await _load(session, alice.id)
        user.default_language = "sv"
        status = await post_status(session, account, user, NewStatus(text="x", language="klingon"),
                                   _rules(container))
    assert status.language == "sv"


async def test_expired_idempotency_key_makes_a_new_status(container: Container, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    async with unit_of_work(container.sessions) as session:
        account, user = await _load(session, alice.id)
        first = await post_status(session, account, user, NewStatus(text="x", idempotency_key="k"), _rules(container))
        await session.execute(
            update(IdempotencyKey).values(created_at=utcnow() - timedelta(hours=2))
        )
    async with unit_of_work(container.sessions) as session:
        account, user = await _load(session, alice.id)
        second = await post_status(session, account, user, NewStatus(text="x", idempotency_key="k"), _rules(container))
    assert second.id != first.id
    async with unit_of_work(container.sessions) as session:
        row = (await session.execute(select(IdempotencyKey))).scalar_one()
        assert row.status_id == second.id
        account, user = await _load(session, alice.id)
        third = await post_status(session, account, user, NewStatus(text="x", idempotency_key="k"), _rules(container))
    assert third.id == second.id


async def test_very_long_idempotency_keys_are_hashed(container: Container, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    key = "k" * 1000
    async with unit_of_work(container.sessions) as session:
        account, user = await _load(session, alice.id)
        first = await post_status(session, account, user, NewStatus(text="x", idempotency_key=key), _rules(container))
        again = await post_status(session, account, user, NewStatus(text="x", idempotency_key=key), _rules(container))
    assert first.id == again.id


async def test_existing_tag_rows_are_reused(container: Container, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    async with unit_of_work(container.sessions) as session:
        first = await q.upsert_tags(session, {"fediverse": "Fediverse"}, iter([1]), utcnow())
        again = await q.upsert_tags(session, {"fediverse": "fediverse"}, iter([2]), utcnow())
        assert [t.id for t in first] == [t.id for t in again] == [1]
        account, user = await _load(session, alice.id)
        await post_status(session, account, user, NewStatus(text="#FEDIVERSE"), _rules(container))
        assert await session.scalar(select(func.count()).select_from(Tag)) == 1


async def test_reply_to_invisible_is_not_found(container: Container, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    bob = await make_actor("bob")
    async with unit_of_work(container.sessions) as session:
        account, user = await _load(session, alice.id)
        secret = await post_status(session, account, user, NewStatus(text="s", visibility="direct"),
                                   _rules(container))
    with pytest.raises(NotFound):
        async with unit_of_work(container.sessions) as session:
            account, user = await _load(session, bob.id)
            await post_status(session, account, user, NewStatus(text="r", in_reply_to_id=secret.id),
                              _rules(container))


async def test_limit_follows_settings(container: Container, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    small = StatusRules(max_chars=10, url_length=5, max_media=4, local_domain="testserver",
                        base_url="http://testserver")
    async with unit_of_work(container.sessions) as session:
        account, user = await _load(session, alice.id)
        await post_status(session, account, user, NewStatus(text="https://example.com/long/path abcd"), small)
        with pytest.raises(Unprocessable, match="limit of 10"):
            await post_status(session, account, user, NewStatus(text="x" * 11), small)
        with pytest.raises(Unprocessable, match="limit of 10"):
            await post_status(session, account, user, NewStatus(text="x" * 5, spoiler_text="y" * 6), small)



async def test_post_counts_and_stamps_the_author_in_one_update(container: Container, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    async with unit_of_work(container.sessions) as session:
        account, user = await _load(session, alice.id)
        status = await post_status(session, account, user, NewStatus(text="hi"), _rules(container))
        assert account.statuses_count == 1 and account.last_status_at == status.created_at
    async with unit_of_work(container.sessions, write=False) as session:
        stored = await session.get(Account, int(alice.id))
        assert stored is not None
        assert stored.statuses_count == 1
        assert stored.last_status_at is not None
        assert abs((stored.last_status_at - status.created_at).total_seconds()) < 1e-3
