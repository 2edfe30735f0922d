"""The media endpoints: v2 (asynchronous) and v1 uploads, showing, alt text and focus, deletion,
attaching to statuses, only_media, rendering, profile pictures, limits and serving."""

from __future__ import annotations

import io

import httpx
import pytest
from PIL import Image

from starling.bootstrap import Container
from tests.conftest import Actor, MakeActor
from tests.web.mastodon.media_support import (
    client_without_jobs,
    fetch,
    files_on_disk,
    png,
    upload,
    uploaded,
)

ENTITY_KEYS = {"id", "type", "url", "preview_url", "remote_url", "meta", "description", "blurhash"}


async def _post(client: httpx.AsyncClient, actor: Actor, **body: object) -> httpx.Response:
    return await client.post("/api/v1/statuses", headers=actor.headers, json=body)


async def test_v2_upload_is_processed_by_a_job(container: Container, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    async with client_without_jobs(container) as c:
        r = await upload(c, alice, png((50, 60)), description="A red square", focus="0.5,-0.25")
        assert r.status_code == 202, r.text
        queued = r.json()
        assert ENTITY_KEYS <= set(queued)
        assert queued["url"] is None and queued["type"] == "image"
        assert queued["description"] == "A red square"
        r = await c.get(f"/api/v1/media/{queued['id']}", headers=alice.headers)
        assert r.status_code == 206 and r.json()["url"] is None
        # Not attachable while processing.
        r = await _post(c, alice, status="too soon", media_ids=[queued["id"]])
        assert r.status_code == 422
        assert "processing" in r.json()["error"]
        await container.runner.run_until_empty()
        r = await c.get(f"/api/v1/media/{queued['id']}", headers=alice.headers)
    assert r.status_code == 200
    done = r.json()
    assert done["url"].startswith("http://testserver/system/media/media_attachments/")
    assert done["url"].endswith(".png") and done["preview_url"].endswith(".png")
    assert done["meta"]["original"] == {"width": 50, "height": 60, "size": "50x60", "aspect": pytest.approx(50 / 60)}
    assert done["meta"]["small"]["size"] == "50x60"
    assert done["meta"]["focus"] == {"x": 0.5, "y": -0.25}
    assert isinstance(done["blurhash"], str) and len(done["blurhash"]) > 6
    assert done["remote_url"] is None


async def test_v1_upload_processes_images_at_once(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    r = await upload(client, alice, png(), version="v1")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["url"].endswith(".png")
    assert body["meta"]["original"]["size"] == "50x50"
    served = await fetch(client, body["url"])
    assert served.status_code == 200
    assert served.content.startswith(b"\x89PNG")


async def test_media_is_private_to_its_owner(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    alice, bob = await make_actor("alice"), await make_actor("bob")
    media = (await upload(client, alice, png())).json()
    assert (await client.get(f"/api/v1/media/{media['id']}", headers=bob.headers)).status_code == 404
    r = await client.put(f"/api/v1/media/{media['id']}", headers=bob.headers, json={"description": "mine"})
    assert r.status_code == 404
    assert (await client.delete(f"/api/v1/media/{media['id']}", headers=bob.headers)).status_code == 404
    r = await _post(client, bob, status="stolen", media_ids=[media["id"]])
    assert r.status_code == 422
    assert (await client.get(f"/api/v1/media/{media['id']}")).status_code == 401
    reader = await make_actor("reader", scopes="read")
    assert (await upload(client, reader, png())).status_code == 403


async def test_put_changes_alt_text_and_focus(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    media = (await upload(client, alice, png())).json()
    r = await client.put(f"/api/v1/media/{media['id']}", headers=alice.headers,
                         json={"description": "Alt text", "focus": "-1.0,1"})
    assert r.status_code == 200, r.text
    assert r.json()["description"] == "Alt text"
    assert r.json()["meta"]["focus"] == {"x": -1.0, "y": 1.0}
    for bad in ("2,0", "a,b", "0.5", "nan,0"):
        r = await client.put(f"/api/v1/media/{media['id']}", headers=alice.headers, json={"focus": bad})
        assert r.status_code == 422, bad
        assert "error" in r.json()
    r = await client.put(f"/api/v1/media/{media['id']}", headers=alice.headers, json={"description": "x" * 1501})
    assert r.status_code == 422


async def test_attach_up_to_four_and_render_everywhere(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    ids = []
    for i in range(5):
        r = await upload(client, alice, png((50, 50 + 10 * i)), description=f"Picture {i}")
        ids.append(r.json()["id"])
    r = await _post(client, alice, status="five", media_ids=ids)
    assert r.status_code == 422
    assert "more than 4" in r.json()["error"]
    r = await _post(client, alice, status="", media_ids=ids[:4])
    assert r.status_code == 200, r.text
    status = r.json()
    assert [m["id"] for m in status["media_attachments"]] == ids[:4]
    assert [m["meta"]["original"]["size"] for m in status["media_attachments"]] == [
        "50x50", "50x60", "50x70", "50x80"]
    assert [m["description"] for m in status["media_attachments"]] == [f"Picture {i}" for i in range(4)]
    # The same media in the status endpoint, timelines and the account's statuses.
    shown = (await client.get(f"/api/v1/statuses/{status['id']}", headers=alice.headers)).json()
    assert shown["media_attachments"] == status["media_attachments"]
    home = (await client.get("/api/v1/timelines/home", headers=alice.headers)).json()
    assert home[0]["media_attachments"] == status["media_attachments"]
    # An attached medium is no longer free: neither another status nor DELETE nor PUT may take it.
    r = await _post(client, alice, status="again", media_ids=[ids[0]])
    assert r.status_code == 422
    r = await client.delete(f"/api/v1/media/{ids[0]}", headers=alice.headers)
    assert r.status_code == 422
    assert (await client.put(f"/api/v1/media/{ids[0]}", headers=alice.headers,
                             json={"description": "x"})).status_code == 404


async def test_editing_a_status_changes_its_media(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    first = (await upload(client, alice, png())).json()["id"]
    second = (await upload(client, alice, png(colour=(1, 2, 3)))).json()["id"]
    status = (await _post(client, alice, status="one", media_ids=[first])).json()
    r = await client.put(f"/api/v1/statuses/{status['id']}", headers=alice.headers,
                         json={"status": "two", "media_ids": [second, first]})
    assert r.status_code == 200, r.text
    assert [m["id"] for m in r.json()["media_attachments"]] == [second, first]
    r = await client.put(f"/api/v1/statuses/{status['id']}", headers=alice.headers,
                         json={"status": "three", "media_ids": [second]})
    assert [m["id"] for m in r.json()["media_attachments"]] == [second]
    # The one let go of is free again.
    assert (await client.delete(f"/api/v1/media/{first}", headers=alice.headers)).status_code == 200


async def test_only_media_filters(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    media = (await upload(client, alice, png())).json()["id"]
    with_media = (await _post(client, alice, status="with picture", media_ids=[media])).json()["id"]
    await _post(client, alice, status="words only")
    for path in ("/api/v1/timelines/public", f"/api/v1/accounts/{alice.id}/statuses"):
        everything = (await client.get(path, headers=alice.headers)).json()
        assert len(everything) == 2
        only = (await client.get(path, headers=alice.headers, params={"only_media": "true"})).json()
        assert [s["id"] for s in only] == [with_media], path


async def test_delete_unattached_media_removes_its_files(
    client: httpx.AsyncClient, container: Container, make_actor: MakeActor
) -> None:
    alice = await make_actor("alice")
    before = files_on_disk(container)
    media = await uploaded(client, alice, png())
    assert len(files_on_disk(container) - before) == 2  # original and preview
    r = await client.delete(f"/api/v1/media/{media['id']}", headers=alice.headers)
    assert r.status_code == 200
    assert files_on_disk(container) == before
    assert (await fetch(client, media["url"])).status_code == 404
    assert (await client.get(f"/api/v1/media/{media['id']}", headers=alice.headers)).status_code == 404


async def test_deleting_a_status_with_delete_media_removes_files(
    client: httpx.AsyncClient, container: Container, make_actor: MakeActor
) -> None:
    alice = await make_actor("alice")
    before = files_on_disk(container)
    media = (await upload(client, alice, png())).json()
    status = (await _post(client, alice, status="bye", media_ids=[media["id"]])).json()
    r = await client.delete(f"/api/v1/statuses/{status['id']}", headers=alice.headers,
                            params={"delete_media": "true"})
    assert r.status_code == 200
    assert r.json()["media_attachments"][0]["id"] == media["id"]
    assert files_on_disk(container) == before


async def test_deleting_a_status_keeps_media_for_a_redraft(
    client: httpx.AsyncClient, container: Container, make_actor: MakeActor
) -> None:
    alice = await make_actor("alice")
    media = await uploaded(client, alice, png())
    status = (await _post(client, alice, status="draft 1", media_ids=[media["id"]])).json()
    assert (await client.delete(f"/api/v1/statuses/{status['id']}", headers=alice.headers)).status_code == 200
    again = await _post(client, alice, status="draft 2", media_ids=[media["id"]])
    assert again.status_code == 200, again.text
    assert again.json()["media_attachments"][0]["url"] == media["url"]


async def test_served_files_carry_safe_headers(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    media = await uploaded(client, alice, png())
    r = await fetch(client, media["url"])
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/png"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'none'" in r.headers["content-security-policy"]
    assert "sandbox" in r.headers["content-security-policy"]
    assert "max-age=31536000" in r.headers["cache-control"]
    head = await client.head(media["url"][len("http://testserver"):])
    assert head.status_code == 200 and head.headers["content-type"] == "image/png"
    part = await client.get(media["url"][len("http://testserver"):], headers={"Range": "bytes=0-3"})
    assert part.status_code == 206 and part.content == b"\x89PNG"


@pytest.mark.parametrize(
    "path",
    [
        "/system/media/../../starling.db",
        "/system/media/%2e%2e/%2e%2e/starling.db",
        "/system/media/media_attachments/..%2f..%2fstarling.db",
        "/system/media//etc/passwd",
        "/system/media/accounts/../../media_incoming/1.file",
        "/system/media/media_attachments/1/abc/original.exe",
        "/system/media/",
    ],
)
async def test_no_path_traversal(client: httpx.AsyncClient, path: str) -> None:
    r = await client.get(path)
    assert r.status_code == 404
    assert r.headers.get("content-type", "").startswith("application/json")


async def test_avatar_and_header_through_the_pipeline(
    client: httpx.AsyncClient, container: Container, make_actor: MakeActor
) -> None:
    alice = await make_actor("alice")
    me = (await client.get("/api/v1/accounts/verify_credentials", headers=alice.headers)).json()
    assert me["avatar"].endswith("/static/avatar-missing.png")
    r = await client.patch("/api/v1/accounts/update_credentials", headers=alice.headers,
                           files={"avatar": ("me.png", png((800, 600)), "image/png"),
                                  "header": ("h.png", png((3000, 600)), "image/png")},
                           data={"display_name": "Alice"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["display_name"] == "Alice"
    assert "/system/media/accounts/avatars/" in body["avatar"] and body["avatar"] == body["avatar_static"]
    assert "/system/media/accounts/headers/" in body["header"]
    avatar = await fetch(client, body["avatar"])
    assert avatar.status_code == 200
    with Image.open(io.BytesIO(avatar.content)) as im:
        assert im.size == (400, 400)
    header = await fetch(client, body["header"])
    with Image.open(io.BytesIO(header.content)) as im:
        assert im.size == (1500, 500)
    # Replacing the avatar removes the old file.
    r = await client.patch("/api/v1/accounts/update_credentials", headers=alice.headers,
                           files={"avatar": ("me2.png", png((100, 100)), "image/png")})
    assert r.status_code == 200
    assert (await fetch(client, body["avatar"])).status_code == 404
    new_avatar = r.json()["avatar"]
    # Removing them.
    r = await client.delete("/api/v1/profile/avatar", headers=alice.headers)
    assert r.status_code == 200 and r.json()["avatar"].endswith("/static/avatar-missing.png")
    assert (await fetch(client, new_avatar)).status_code == 404
    r = await client.delete("/api/v1/profile/header", headers=alice.headers)
    assert r.status_code == 200 and r.json()["header"].endswith("/static/header-missing.png")
    assert (await fetch(client, body["header"])).status_code == 404
    # Public view shows the same.
    shown = (await client.get(f"/api/v1/accounts/{alice.id}")).json()
    assert shown["avatar"].endswith("/static/avatar-missing.png")


async def test_avatar_must_be_an_image(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    r = await client.patch("/api/v1/accounts/update_credentials", headers=alice.headers,
                           files={"avatar": ("x.png", b"<html>hi</html>", "image/png")})
    assert r.status_code == 422
    assert list(r.json()) == ["error", "details"] or "error" in r.json()


async def test_instance_advertises_the_limits(client: httpx.AsyncClient) -> None:
    v2 = (await client.get("/api/v2/instance")).json()["configuration"]["media_attachments"]
    assert v2["image_size_limit"] == 16 * 1024 * 1024
    assert v2["video_size_limit"] == 99 * 1024 * 1024
    assert v2["image_matrix_limit"] == 40_000_000
    assert {"image/jpeg", "image/png", "image/webp", "image/gif", "image/heic", "video/mp4", "video/webm",
            "video/quicktime", "audio/mpeg", "audio/ogg", "audio/wave"} <= set(v2["supported_mime_types"])
    v1 = (await client.get("/api/v1/instance")).json()["configuration"]["media_attachments"]
    assert v1["image_size_limit"] == 16 * 1024 * 1024


async def test_upload_without_a_file(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    r = await client.post("/api/v2/media", headers=alice.headers, data={"description": "nothing"})
    assert r.status_code == 422
    assert r.json()["error"] == "Validation failed: File can't be blank"
    r = await client.post("/api/v2/media", headers=alice.headers, json={"file": "not a file"})
    assert r.status_code == 422


def test_media_upload_budget_comes_from_the_settings() -> None:
    from starling.config import Settings
    from starling.web.middleware.ratelimit import rules_for

    default = {r.name: (r.limit, r.period, per_account) for r, per_account in
               rules_for("POST", "/api/v2/media", Settings())}
    assert default["media"] == (30, 1800, True)
    tuned = {r.name: (r.limit, r.period) for r, _ in
             rules_for("POST", "/api/v1/media", Settings(media_rate_limit_requests=5, media_rate_limit_period=60))}
    assert tuned["media"] == (5, 60)
    assert "media" not in {r.name for r, _ in rules_for("GET", "/api/v1/media/1", Settings())}


async def test_media_base_url_setting_changes_the_addresses(container: Container, make_actor: MakeActor) -> None:
    from starling.web.app import create_app
    from starling.web.mastodon import urls

    alice = await make_actor("alice")
    settings = container.settings.model_copy(update={"media_base_url": "https://media.example/files/"})
    app = create_app(settings, container=container)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
            r = await upload(c, alice, png(), version="v1")
        assert r.json()["url"].startswith("https://media.example/files/media_attachments/")
    finally:
        urls.set_media_base_url(None)


async def test_media_shows_in_reblogs_history_context_and_notifications(
    client: httpx.AsyncClient, make_actor: MakeActor
) -> None:
    alice, bob = await make_actor("alice"), await make_actor("bob")
    media = await uploaded(client, alice, png(), description="Shared picture")
    post = (await _post(client, alice, status="look @bob", media_ids=[media["id"]])).json()
    expected = post["media_attachments"]
    assert [m["id"] for m in expected] == [media["id"]]
    reblog = (await client.post(f"/api/v1/statuses/{post['id']}/reblog", headers=bob.headers)).json()
    assert reblog["reblog"]["media_attachments"] == expected
    statuses = (await client.get(f"/api/v1/accounts/{bob.id}/statuses", headers=bob.headers)).json()
    assert statuses[0]["reblog"]["media_attachments"] == expected
    reply = (await _post(client, bob, status="nice", in_reply_to_id=post["id"])).json()
    context = (await client.get(f"/api/v1/statuses/{reply['id']}/context", headers=bob.headers)).json()
    assert context["ancestors"][0]["media_attachments"] == expected
    mentions = (await client.get("/api/v1/notifications", headers=bob.headers,
                                 params={"types[]": "mention"})).json()
    assert mentions[0]["status"]["media_attachments"] == expected
    edited = await client.put(f"/api/v1/statuses/{post['id']}", headers=alice.headers,
                              json={"status": "look again @bob", "media_ids": [media["id"]]})
    assert edited.status_code == 200
    history = (await client.get(f"/api/v1/statuses/{post['id']}/history", headers=alice.headers)).json()
    assert [v["media_attachments"][0]["id"] for v in history] == [media["id"], media["id"]]
