"""End to end: photos full of identifying metadata go in through the API; what the server serves
(original and preview) carries none of it, checked with exiftool, and is oriented right."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from PIL import Image

from tests.conftest import MakeActor
from tests.services.media import corpus
from tests.web.mastodon.media_support import save_served, uploaded

CORPUS: dict[str, Callable[[Path], Path]] = {
    "jpeg-gps-serial-makernote-thumbnail": lambda tmp: corpus.jpeg_with_everything(tmp, 6),
    "jpeg-orientation-8": lambda tmp: corpus.jpeg_with_everything(tmp, 8),
    "jpeg-xmp-orientation": lambda tmp: corpus.jpeg_with_xmp_orientation(tmp, 6),
    "png-text-time-chunks": corpus.png_with_chunks,
    "webp-exif-xmp": corpus.webp_with_metadata,
    "heic-exif-xmp": corpus.heic_with_metadata,
    "animated-gif": corpus.animated_gif,
}


@pytest.mark.parametrize("name", sorted(CORPUS))
async def test_served_files_carry_no_identifying_metadata(
    client: httpx.AsyncClient, make_actor: MakeActor, tmp_path: Path, name: str
) -> None:
    corpus.require("exiftool")
    alice = await make_actor("alice")
    source = CORPUS[name](tmp_path)
    assert corpus.identifying_tags(source) or corpus.SECRET.encode() in source.read_bytes(), \
        "the corpus file must carry metadata for this test to mean anything"
    media = await uploaded(client, alice, source.read_bytes(), filename=source.name,
                           description="Alt text stays")
    assert media["description"] == "Alt text stays"
    original = await save_served(client, media["url"], tmp_path / ("served-original" + Path(media["url"]).suffix))
    preview = await save_served(client, media["preview_url"],
                                tmp_path / ("served-preview" + Path(media["preview_url"]).suffix))
    corpus.assert_clean(original)
    corpus.assert_clean(preview)
    if name == "animated-gif":
        frames = corpus.gif_frames(original.read_bytes())
        assert len(frames) == 3
        return
    with Image.open(original) as im:
        assert im.size == corpus.CANON_SIZE
        colours = corpus.quadrant_colours(im)
    for quadrant, expected in corpus.QUADRANTS.items():
        assert corpus.close(colours[quadrant], expected), (name, quadrant, colours[quadrant])
    assert media["meta"]["original"]["size"] == "96x64"


async def test_avatar_is_stripped_too(client: httpx.AsyncClient, make_actor: MakeActor, tmp_path: Path) -> None:
    corpus.require("exiftool")
    alice = await make_actor("alice")
    source = corpus.jpeg_with_everything(tmp_path, 6)
    r = await client.patch("/api/v1/accounts/update_credentials", headers=alice.headers,
                           files={"avatar": ("me.jpg", source.read_bytes(), "image/jpeg")})
    assert r.status_code == 200, r.text
    avatar = await save_served(client, r.json()["avatar"], tmp_path / "avatar.jpg")
    corpus.assert_clean(avatar)
