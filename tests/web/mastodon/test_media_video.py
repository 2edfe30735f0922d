"""Video and audio: transcoded by a job, every tag and location atom dropped, duration and poster."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from starling.bootstrap import Container
from tests.conftest import MakeActor
from tests.services.media import corpus
from tests.web.mastodon.media_support import client_without_jobs, files_on_disk, png, save_served, upload, uploaded


def _tags(probe: dict[str, object]) -> dict[str, str]:
    found: dict[str, str] = {}
    fmt = probe.get("format", {})
    assert isinstance(fmt, dict)
    found.update(fmt.get("tags", {}))
    for stream in probe.get("streams", []):  # type: ignore[attr-defined]
        found.update(stream.get("tags", {}))
    return found


@pytest.mark.parametrize("container_format", ["webm", "mov"])
async def test_video_becomes_a_clean_mp4(
    container: Container, make_actor: MakeActor, tmp_path: Path, container_format: str
) -> None:
    corpus.require("ffmpeg")
    corpus.require("exiftool")
    alice = await make_actor("alice")
    source = corpus.video_with_metadata(tmp_path, container=container_format)
    before_tags = _tags(corpus.ffprobe_json(source))
    assert any("48.8584" in v for v in before_tags.values()) or container_format == "webm"
    assert corpus.SECRET in before_tags.values()
    async with client_without_jobs(container) as c:
        r = await upload(c, alice, source.read_bytes(), filename=source.name, description="A test card")
        assert r.status_code == 202, r.text
        media_id = r.json()["id"]
        assert r.json()["type"] == "video" and r.json()["url"] is None
        assert (await c.get(f"/api/v1/media/{media_id}", headers=alice.headers)).status_code == 206
        await container.runner.run_until_empty()
        r = await c.get(f"/api/v1/media/{media_id}", headers=alice.headers)
        assert r.status_code == 200, r.text
        media = r.json()
        assert media["type"] == "video"
        assert media["url"].endswith(".mp4")
        assert media["preview_url"].endswith(".jpg")
        assert int(media["meta"]["original"]["duration"]) == 5
        assert media["meta"]["original"]["width"] == 50 and media["meta"]["original"]["height"] == 50
        assert media["meta"]["original"]["frame_rate"] == "25/1"
        assert media["meta"]["small"]["size"] == "50x50"
        assert media["blurhash"]
        served = await save_served(c, media["url"], tmp_path / "served.mp4")
        served_head = await c.get(media["url"][len("http://testserver"):])
        assert served_head.headers["content-type"] == "video/mp4"
        poster = await save_served(c, media["preview_url"], tmp_path / "poster.jpg")
    probe = corpus.ffprobe_json(served)
    assert probe["format"]["format_name"].startswith("mov,mp4")
    codecs = {s["codec_type"]: s["codec_name"] for s in probe["streams"]}
    assert codecs == {"video": "h264", "audio": "aac"}
    leftover = {k: v for k, v in _tags(probe).items()
                if k not in ("handler_name", "language", "vendor_id", "major_brand", "minor_version",
                             "compatible_brands", "encoder")}
    assert leftover == {}, leftover
    assert not any(corpus.SECRET in v or "48.8584" in v or corpus.OWNER in v for v in _tags(probe).values())
    corpus.assert_clean(served)
    corpus.assert_clean(poster)


async def test_custom_thumbnail_becomes_the_preview(
    client: httpx.AsyncClient, make_actor: MakeActor, tmp_path: Path
) -> None:
    corpus.require("ffmpeg")
    alice = await make_actor("alice")
    source = corpus.video_with_metadata(tmp_path, size="560x320")
    r = await client.post("/api/v2/media", headers=alice.headers,
                          files={"file": ("small.webm", source.read_bytes(), "video/webm"),
                                 "thumbnail": ("thumb.png", png((50, 50)), "image/png")},
                          data={"description": "foo"})
    assert r.status_code == 202, r.text
    media = (await client.get(f"/api/v1/media/{r.json()['id']}", headers=alice.headers)).json()
    assert media["url"].endswith(".mp4") and media["preview_url"].endswith(".png")
    assert media["meta"]["original"]["width"] == 560 and media["meta"]["original"]["height"] == 320
    assert media["meta"]["small"] == {"width": 50, "height": 50, "size": "50x50", "aspect": 1.0}


async def test_silent_short_video_is_gifv(client: httpx.AsyncClient, make_actor: MakeActor, tmp_path: Path) -> None:
    corpus.require("ffmpeg")
    alice = await make_actor("alice")
    source = corpus.video_with_metadata(tmp_path, container="mp4", seconds=2, audio=False)
    media = await uploaded(client, alice, source.read_bytes(), filename="loop.mp4")
    assert media["type"] == "gifv"
    assert media["url"].endswith(".mp4")


@pytest.mark.parametrize(("fmt", "args"), [
    ("mp3", ["-c:a", "libmp3lame"]),
    ("ogg", ["-c:a", "libvorbis"]),
    ("wav", ["-c:a", "pcm_s16le"]),
])
async def test_audio_becomes_clean_aac(
    client: httpx.AsyncClient, make_actor: MakeActor, tmp_path: Path, fmt: str, args: list[str]
) -> None:
    alice = await make_actor("alice")
    source = corpus.audio_with_tags(tmp_path, fmt, args)
    media = await uploaded(client, alice, source.read_bytes(), filename=source.name)
    assert media["type"] == "audio"
    assert media["url"].endswith(".m4a")
    assert int(media["meta"]["original"]["duration"]) == 3
    served = await save_served(client, media["url"], tmp_path / "served.m4a")
    tags = _tags(corpus.ffprobe_json(served))
    assert corpus.SECRET not in tags.values() and corpus.OWNER not in tags.values()
    assert corpus.SECRET.encode() not in served.read_bytes()


async def test_broken_video_fails_in_the_job_and_leaves_nothing(
    client: httpx.AsyncClient, container: Container, make_actor: MakeActor
) -> None:
    corpus.require("ffmpeg")
    alice = await make_actor("alice")
    before = files_on_disk(container)
    # A WebM signature followed by garbage.
    r = await upload(client, alice, b"\x1a\x45\xdf\xa3" + b"\x00\x13garbage" * 500, filename="x.webm")
    assert r.status_code == 202
    shown = await client.get(f"/api/v1/media/{r.json()['id']}", headers=alice.headers)
    assert shown.status_code == 422
    assert shown.json()["error"]
    assert files_on_disk(container) == before
