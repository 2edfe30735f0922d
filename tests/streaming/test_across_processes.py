"""Several server processes on one database: a post through one reaches streams held by another
(SQLite polling, PostgreSQL LISTEN/NOTIFY, Redis pub/sub), and a server killed mid-stream loses no event
for a client that resumes with ``Last-Event-ID``."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.streaming.helpers import SSEReader, spawn, stop
from tests.support import databases
from tests.support.live_server import LiveServer, require_database, run_async, skip_or_fail, start_live_server

REDIS_URL = "redis://127.0.0.1:6379/7"


def _redis_reachable() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except Exception:
        return False


def _backend_env(kind: str) -> dict[str, str]:
    if kind == "redis":
        return {"STARLING_REDIS_URL": REDIS_URL, "STARLING_STREAMING_BACKEND": "redis",
                "STARLING_RATE_LIMITS_ENABLED": "false"}
    # auto: polling on SQLite, LISTEN/NOTIFY on PostgreSQL; a slow poll proves NOTIFY does the work there.
    if databases.backend() == "postgres":
        return {"STARLING_STREAMING_BACKEND": "postgres", "STARLING_STREAMING_POLL_INTERVAL": "5"}
    return {"STARLING_STREAMING_BACKEND": "poll"}


@pytest.fixture(params=["database", "redis"])
def pair(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[LiveServer, str]]:
    require_database()
    if request.param == "redis" and not _redis_reachable():
        skip_or_fail(f"Redis is not reachable at {REDIS_URL}")
    env = _backend_env(request.param)
    with start_live_server(tmp_path / "a", extra_env=env) as a:
        process, base_b = spawn(a, tmp_path / "b.log", extra_env=env)
        try:
            yield a, base_b
        finally:
            stop(process)


def test_post_through_one_process_reaches_a_stream_held_by_another(pair: tuple[LiveServer, str]) -> None:
    a, base_b = pair
    poster, follower = a.seed_actor("xposter"), a.seed_actor("xfollower")
    a.client(follower.token).post(f"/api/v1/accounts/{poster.id}/follow")
    on_b = SSEReader(f"{base_b}/api/v1/streaming/user", follower.headers).start()
    public_on_b = SSEReader(f"{base_b}/api/v1/streaming/public/local").start()
    try:
        time.sleep(0.5)
        status = a.client(poster.token).post("/api/v1/statuses", json={"status": "hi @xfollower"}).json()
        events = on_b.wait_for(lambda evs: {"update", "notification"} <= {e.event for e in evs})
        public_on_b.wait_for(lambda evs: any(e.event == "update" for e in evs))
    finally:
        on_b.close()
        public_on_b.close()
    update = next(e for e in events if e.event == "update")
    assert update.payload["id"] == status["id"]
    assert next(e for e in events if e.event == "notification").payload["status"]["id"] == status["id"]


def test_killed_server_loses_nothing_for_a_client_that_resumes(tmp_path: Path) -> None:
    require_database()
    with start_live_server(tmp_path / "a") as a:
        poster, follower = a.seed_actor("kposter"), a.seed_actor("kfollower")
        a.client(follower.token).post(f"/api/v1/accounts/{poster.id}/follow")
        # The stream is held by a server that gets killed; posts go through another process meanwhile.
        process, base_b = spawn(a, tmp_path / "b.log")
        port_b = int(base_b.rsplit(":", 1)[1])
        reader = SSEReader(f"{base_b}/api/v1/streaming/user", follower.headers).start()
        time.sleep(0.3)
        client = a.client(poster.token)
        ids = [client.post("/api/v1/statuses", json={"status": "before"}).json()["id"]]
        reader.wait_for(lambda evs: len(evs) == 1)
        stop(process, signal.SIGKILL)
        assert reader.ended.wait(10)
        ids += [client.post("/api/v1/statuses", json={"status": f"while down {i}"}).json()["id"] for i in range(4)]
        process, base_b = spawn(a, tmp_path / "b2.log", port=port_b, data_dir=tmp_path / "b.data")
        try:
            resumed = SSEReader(f"{base_b}/api/v1/streaming/user",
                                {**follower.headers, "Last-Event-ID": str(reader.last_id())}).start()
            ids.append(client.post("/api/v1/statuses", json={"status": "after"}).json()["id"])
            resumed.wait_for(lambda evs: any(e.event == "update" and e.payload["id"] == ids[-1] for e in evs))
            time.sleep(0.3)
            resumed.close()
        finally:
            stop(process)
        got = [e.payload["id"] for e in reader.events + resumed.events if e.event == "update"]
        assert got == ids


def test_ids_follow_commit_order_under_concurrent_writers(tmp_path: Path) -> None:
    """Many concurrent posts: the ids a stream receives only grow, and every post arrives once."""
    require_database()
    with start_live_server(tmp_path / "a") as a:
        actors = [a.seed_actor(f"cw{i}") for i in range(4)]
        watcher = a.seed_actor("cwatch")
        for actor in actors:
            a.client(watcher.token).post(f"/api/v1/accounts/{actor.id}/follow")
        reader = SSEReader(f"{a.base_url}/api/v1/streaming/user", watcher.headers).start()
        time.sleep(0.3)

        async def burst() -> list[str]:
            import asyncio

            import httpx

            async with httpx.AsyncClient(base_url=a.base_url, timeout=30) as client:
                async def one(actor_token: str, i: int) -> str:
                    response = await client.post("/api/v1/statuses", json={"status": f"burst {i}"},
                                                 headers={"Authorization": f"Bearer {actor_token}"})
                    return str(response.json()["id"])

                return list(await asyncio.gather(*(one(actors[i % 4].token, i) for i in range(40))))

        posted = run_async(burst())
        events = reader.wait_for(lambda evs: len([e for e in evs if e.event == "update"]) >= 40)
        time.sleep(0.3)
        reader.close()
        got = [e.payload["id"] for e in events if e.event == "update"]
        assert sorted(got) == sorted(posted) and len(got) == 40
        event_ids = [e.id for e in events]
        assert event_ids == sorted(event_ids)
