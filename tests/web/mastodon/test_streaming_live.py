"""The streaming API against a real ``starling serve``: Mastodon.py over SSE, a ``websockets`` client
on the multiplexed socket, scopes, revocation, resuming with ``Last-Event-ID`` and draining on reload."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import websockets
from mastodon import Mastodon, StreamListener
from websockets.exceptions import InvalidStatus

from tests.streaming.helpers import SSEReader, wait_until
from tests.support.live_server import LiveServer, require_database, start_live_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    require_database()
    with start_live_server(tmp_path_factory.mktemp("streaming"),
                           extra_env={"STARLING_STREAMING_HEARTBEAT": "0.5"}) as live:
        yield live


class Recorder(StreamListener):  # type: ignore[misc]
    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    def on_update(self, status: Any) -> None:
        self.events.append(("update", status))

    def on_status_update(self, status: Any) -> None:
        self.events.append(("status.update", status))

    def on_delete(self, status_id: Any) -> None:
        self.events.append(("delete", status_id))

    def on_notification(self, notification: Any) -> None:
        self.events.append(("notification", notification))

    def on_conversation(self, conversation: Any) -> None:
        self.events.append(("conversation", conversation))


def _api(server: LiveServer, token: str) -> Mastodon:
    return Mastodon(access_token=token, api_base_url=server.base_url, version_check_mode="none")


def _kinds(recorder: Recorder) -> list[str]:
    return [kind for kind, _ in recorder.events]


def test_health_and_instance_advertise_the_streaming_url(server: LiveServer) -> None:
    assert httpx.get(f"{server.base_url}/api/v1/streaming/health").text == "OK"
    v1 = httpx.get(f"{server.base_url}/api/v1/instance").json()
    v2 = httpx.get(f"{server.base_url}/api/v2/instance").json()
    assert v1["urls"]["streaming_api"] == f"ws://127.0.0.1:{server.port}"
    assert v2["configuration"]["urls"]["streaming"] == f"ws://127.0.0.1:{server.port}"


def test_mastodon_py_user_stream_gets_update_edit_notification_delete_in_order(server: LiveServer) -> None:
    alice, bob = server.seed_actor("ualice"), server.seed_actor("ubob")
    assert server.client(bob.token).post(f"/api/v1/accounts/{alice.id}/follow").status_code == 200
    recorder = Recorder()
    handle = _api(server, bob.token).stream_user(recorder, run_async=True)
    try:
        time.sleep(0.5)
        api = _api(server, alice.token)
        status = api.status_post("hello @ubob")
        wait_until(lambda: "notification" in _kinds(recorder))
        api.status_update(status["id"], "hello again @ubob")
        wait_until(lambda: "status.update" in _kinds(recorder))
        api.status_delete(status["id"])
        wait_until(lambda: "delete" in _kinds(recorder))
    finally:
        handle.close()
    kinds = _kinds(recorder)
    assert kinds.index("update") < kinds.index("status.update") < kinds.index("delete")
    assert kinds.count("update") == 1 and kinds.count("delete") == 1
    update = recorder.events[kinds.index("update")][1]
    assert update["id"] == status["id"] and "hello" in update["content"]
    edited = recorder.events[kinds.index("status.update")][1]
    assert "again" in edited["content"]
    notification = recorder.events[kinds.index("notification")][1]
    assert notification["type"] == "mention" and notification["status"]["id"] == status["id"]
    assert str(recorder.events[kinds.index("delete")][1]) == str(status["id"])


def test_mastodon_py_public_and_hashtag_streams(server: LiveServer) -> None:
    carol, dave = server.seed_actor("pcarol"), server.seed_actor("pdave")
    public, tagged = Recorder(), Recorder()
    api = _api(server, dave.token)
    handles = [api.stream_public(public, run_async=True), api.stream_hashtag("starlings", tagged, run_async=True)]
    try:
        time.sleep(0.5)
        author = _api(server, carol.token)
        plain = author.status_post("no tag here")
        with_tag = author.status_post("murmuration #Starlings")
        author.status_post("only followers #starlings", visibility="private")
        author.status_update(with_tag["id"], "murmuration edited #Starlings")
        author.status_delete(plain["id"])
        wait_until(lambda: "delete" in _kinds(public) and "status.update" in _kinds(tagged))
    finally:
        for handle in handles:
            handle.close()
    public_updates = [s["id"] for kind, s in public.events if kind == "update"]
    assert public_updates == [plain["id"], with_tag["id"]]  # the private one never comes
    tag_updates = [s["id"] for kind, s in tagged.events if kind == "update"]
    assert tag_updates == [with_tag["id"]]
    assert _kinds(tagged) == ["update", "status.update"]


def test_private_status_reaches_followers_only(server: LiveServer) -> None:
    erin, frank, gina = (server.seed_actor(n) for n in ("verin", "vfrank", "vgina"))
    server.client(frank.token).post(f"/api/v1/accounts/{erin.id}/follow")
    follower = SSEReader(f"{server.base_url}/api/v1/streaming/user", frank.headers).start()
    stranger = SSEReader(f"{server.base_url}/api/v1/streaming/user", gina.headers).start()
    stranger_public = SSEReader(f"{server.base_url}/api/v1/streaming/public", gina.headers).start()
    try:
        time.sleep(0.3)
        secret = server.client(erin.token).post("/api/v1/statuses", json={"status": "followers only",
                                                                           "visibility": "private"}).json()
        marker = server.client(erin.token).post("/api/v1/statuses", json={"status": "public marker"}).json()
        follower.wait_for(lambda evs: any(e.event == "update" and e.payload["id"] == marker["id"] for e in evs))
        stranger_public.wait_for(lambda evs: any(e.event == "update" and e.payload["id"] == marker["id"]
                                                 for e in evs))
        time.sleep(0.3)
    finally:
        for reader in (follower, stranger, stranger_public):
            reader.close()
    assert [e.payload["id"] for e in follower.events if e.event == "update"] == [secret["id"], marker["id"]]
    assert all(e.payload["id"] != secret["id"] for e in stranger_public.events if e.event == "update")
    assert stranger.events == []


def test_streams_need_a_token_and_the_right_scope(server: LiveServer) -> None:
    reader = server.seed_actor("sreader", scopes="read:accounts")
    assert httpx.get(f"{server.base_url}/api/v1/streaming/user").status_code == 401
    denied = httpx.get(f"{server.base_url}/api/v1/streaming/user", headers=reader.headers)
    assert denied.status_code == 403 and "error" in denied.json()
    assert httpx.get(f"{server.base_url}/api/v1/streaming/nonsense").status_code == 404
    assert httpx.get(f"{server.base_url}/api/v1/streaming/hashtag").status_code == 400


async def _ws_messages(ws: Any, predicate: Any, limit: float = 20.0) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + limit
    while not predicate(got):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"condition not met; messages: {got}")
        got.append(json.loads(await asyncio.wait_for(ws.recv(), remaining)))
    return got


def test_websocket_multiplexes_two_streams_unsubscribes_and_refuses_scopes(server: LiveServer) -> None:
    hank, ivy = server.seed_actor("whank"), server.seed_actor("wivy")
    limited = server.seed_actor("wlimited", scopes="read:statuses")
    server.client(ivy.token).post(f"/api/v1/accounts/{hank.id}/follow")
    url = f"ws://127.0.0.1:{server.port}/api/v1/streaming"
    post = server.client(hank.token)

    async def scenario() -> None:
        async with websockets.connect(f"{url}?stream=user", additional_headers=ivy.headers) as ws:
            await ws.send(json.dumps({"type": "subscribe", "stream": "hashtag", "tag": "flock"}))
            await asyncio.sleep(0.3)
            status = await asyncio.to_thread(post.post, "/api/v1/statuses", json={"status": "a #flock"})
            sid = status.json()["id"]
            got = await _ws_messages(ws, lambda m: len([x for x in m if x.get("event") == "update"]) >= 2)
            streams = sorted(tuple(m["stream"]) for m in got if m.get("event") == "update")
            assert streams == [("hashtag", "flock"), ("user",)]
            assert all(json.loads(m["payload"])["id"] == sid for m in got if m.get("event") == "update")
            await ws.send(json.dumps({"type": "unsubscribe", "stream": "hashtag", "tag": "flock"}))
            await asyncio.sleep(0.3)
            second = (await asyncio.to_thread(post.post, "/api/v1/statuses", json={"status": "b #flock"})).json()
            got = await _ws_messages(ws, lambda m: any(x.get("event") == "update" for x in m))
            assert [tuple(m["stream"]) for m in got if m.get("event") == "update"] == [("user",)]
            assert json.loads(got[-1]["payload"])["id"] == second["id"]
        # A token given as the subprotocol; the notification stream needs read:notifications.
        async with websockets.connect(url, subprotocols=[limited.token]) as ws:  # type: ignore[list-item]
            await ws.send(json.dumps({"type": "subscribe", "stream": "user:notification"}))
            refused = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert refused["status"] == 403 and "error" in refused
            await ws.send(json.dumps({"type": "subscribe", "stream": "public:local"}))
            await asyncio.sleep(0.3)
            third = (await asyncio.to_thread(post.post, "/api/v1/statuses", json={"status": "c"})).json()
            got = await _ws_messages(ws, lambda m: any(x.get("event") == "update" for x in m))
            assert got[-1]["stream"] == ["public:local"] and json.loads(got[-1]["payload"])["id"] == third["id"]

    asyncio.run(scenario())


def test_websocket_with_a_bad_token_is_refused(server: LiveServer) -> None:
    async def scenario() -> None:
        url = f"ws://127.0.0.1:{server.port}/api/v1/streaming?stream=user&access_token=nope"
        with pytest.raises(InvalidStatus) as refused:
            async with websockets.connect(url):
                pass
        assert refused.value.response.status_code == 401
        assert "error" in json.loads(refused.value.response.body or b"")

    asyncio.run(scenario())


def test_websocket_pings_close_codes_and_subprotocol_through_the_worker(server: LiveServer) -> None:
    """The worker's own WebSocket protocol (starling.serving.websocket_protocol) as a client sees it."""
    kit = server.seed_actor("wkit")
    url = f"ws://127.0.0.1:{server.port}/api/v1/streaming"

    async def scenario() -> None:
        async with websockets.connect(url, subprotocols=[kit.token], ping_interval=None) as ws:  # type: ignore[list-item]
            assert ws.subprotocol == kit.token
            assert await asyncio.wait_for(await ws.ping(), 10) >= 0
            await ws.send("not json")
            assert json.loads(await asyncio.wait_for(ws.recv(), 10))["status"] == 400
            await ws.close(4000, "bye")
        assert ws.close_code == 4000
        with pytest.raises(InvalidStatus) as refused:
            async with websockets.connect(f"{url}?stream=nonsense", subprotocols=[kit.token]):  # type: ignore[list-item]
                pass
        assert refused.value.response.status_code == 404
        assert json.loads(refused.value.response.body or b"") == {"error": "Unknown stream type"}

    asyncio.run(scenario())


def test_revoked_token_closes_its_stream(server: LiveServer) -> None:
    jo = server.seed_actor("rjo")
    reader = SSEReader(f"{server.base_url}/api/v1/streaming/user", jo.headers).start()
    time.sleep(0.3)
    done = server.cli("suspend", "rjo", check=False)
    assert done.returncode == 0, done.stderr
    assert reader.ended.wait(20), "the stream of a suspended account stays open"
    again = httpx.get(f"{server.base_url}/api/v1/streaming/user", headers=jo.headers)
    assert again.status_code in (401, 403)


def test_resume_with_last_event_id_replays_missed_events_once(server: LiveServer) -> None:
    kim, lee = server.seed_actor("mkim"), server.seed_actor("mlee")
    server.client(lee.token).post(f"/api/v1/accounts/{kim.id}/follow")
    first = SSEReader(f"{server.base_url}/api/v1/streaming/user", lee.headers).start()
    time.sleep(0.3)
    poster = server.client(kim.token)
    ids = [poster.post("/api/v1/statuses", json={"status": f"one {i}"}).json()["id"] for i in range(2)]
    first.wait_for(lambda evs: len([e for e in evs if e.event == "update"]) == 2)
    first.close()
    last = first.last_id()
    ids += [poster.post("/api/v1/statuses", json={"status": f"two {i}"}).json()["id"] for i in range(3)]
    second = SSEReader(f"{server.base_url}/api/v1/streaming/user", {**lee.headers, "Last-Event-ID": str(last)})
    second.start()
    ids += [poster.post("/api/v1/statuses", json={"status": "three"}).json()["id"]]
    events = second.wait_for(lambda evs: len([e for e in evs if e.event == "update"]) >= 4)
    time.sleep(0.3)
    second.close()
    got = [e.payload["id"] for e in first.events + second.events if e.event == "update"]
    assert got == ids
    event_ids = [e.id for e in first.events + events if e.id is not None]
    assert event_ids == sorted(set(event_ids))


def test_heartbeats_keep_an_idle_stream_alive(server: LiveServer) -> None:
    reader = SSEReader(f"{server.base_url}/api/v1/streaming/public").start()
    try:
        wait_until(lambda: "thump" in reader.comments, timeout=10)
    finally:
        reader.close()


def test_reload_ends_streams_cleanly_and_clients_resume_without_gaps(server: LiveServer) -> None:
    mo, ned = server.seed_actor("dmo"), server.seed_actor("dned")
    server.client(ned.token).post(f"/api/v1/accounts/{mo.id}/follow")
    reader = SSEReader(f"{server.base_url}/api/v1/streaming/user", ned.headers).start()
    time.sleep(0.3)
    poster = server.client(mo.token)
    ids = [poster.post("/api/v1/statuses", json={"status": "before"}).json()["id"]]
    reader.wait_for(lambda evs: len(evs) == 1)
    stop = threading.Event()

    def keep_posting() -> None:
        while not stop.is_set():
            response = poster.post("/api/v1/statuses", json={"status": "during"})
            if response.status_code == 200:
                ids.append(response.json()["id"])
            time.sleep(0.1)

    thread = threading.Thread(target=keep_posting)
    thread.start()
    try:
        done = server.cli("reload")
        assert reader.ended.wait(30), "reload did not end the stream"
        assert reader.error is None, f"the stream ended with an error: {reader.error!r}"
        assert any("restart" in c for c in reader.comments)
        resumed = SSEReader(f"{server.base_url}/api/v1/streaming/user",
                            {**ned.headers, "Last-Event-ID": str(reader.last_id())}).start()
        time.sleep(0.5)
    finally:
        stop.set()
        thread.join()
    ids.append(poster.post("/api/v1/statuses", json={"status": "after"}).json()["id"])
    resumed.wait_for(lambda evs: any(e.payload["id"] == ids[-1] for e in evs if e.event == "update"))
    resumed.close()
    assert done.returncode == 0
    got = [e.payload["id"] for e in reader.events + resumed.events if e.event == "update"]
    assert got == ids

