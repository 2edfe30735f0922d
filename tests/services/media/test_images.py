"""The image pipeline on its own: every output file stripped (checked with exiftool), orientation
applied (checked by pixels), previews, blurhash, and hostile images refused."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from starling.domain.errors import Unprocessable
from starling.services.media.images import process_image
from tests.services.media import corpus

MAX_PIXELS = 40_000_000


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _outputs(tmp_path: Path, source: Path, **kwargs: object) -> tuple[Path, Path, object]:
    done = process_image(source, max_pixels=MAX_PIXELS, preview_size=640, **kwargs)  # type: ignore[arg-type]
    original = _write(tmp_path, f"out-original.{done.original.ext}", done.original.data)
    small = _write(tmp_path, f"out-small.{done.small.ext}", done.small.data)
    return original, small, done


def test_the_source_jpeg_really_carries_everything(tmp_path: Path) -> None:
    """The corpus is only a test if the metadata is there before processing."""
    source = corpus.jpeg_with_everything(tmp_path, 6)
    tags = corpus.exiftool_tags(source)
    keys = set(tags)
    for expected in ("GPS:GPSLatitude", "ExifIFD:SerialNumber", "IFD0:Make", "IFD0:Model", "IFD1:ThumbnailImage",
                     "ExifIFD:DateTimeOriginal", "XMP-dc:Creator", "IPTC:By-line", "IFD0:Orientation"):
        assert expected in keys, f"{expected} missing from the corpus file: {sorted(keys)}"
    # The MakerNote blob (exiftool parses it as Canon's and warns about its made-up content).
    assert b"Canon\x00" + corpus.SERIAL.encode() in source.read_bytes()
    assert "MakerNotes" in str(tags.get("ExifTool:Warning", ""))
    assert corpus.identifying_tags(corpus.jpeg_with_everything(tmp_path, 1))


@pytest.mark.parametrize("orientation", range(1, 9))
def test_jpeg_every_orientation_is_applied_and_everything_is_stripped(tmp_path: Path, orientation: int) -> None:
    source = corpus.jpeg_with_everything(tmp_path, orientation)
    original, small, done = _outputs(tmp_path, source)
    corpus.assert_clean(original)
    corpus.assert_clean(small)
    with Image.open(original) as im:
        assert im.format == "JPEG"
        assert im.size == corpus.CANON_SIZE
        colours = corpus.quadrant_colours(im)
        assert not im.getexif()
    for name, expected in corpus.QUADRANTS.items():
        assert corpus.close(colours[name], expected), (orientation, name, colours[name], expected)
    meta = done.original.meta()  # type: ignore[attr-defined]
    assert meta == {"width": 96, "height": 64, "size": "96x64", "aspect": 1.5}


def test_embedded_thumbnail_pixels_do_not_survive(tmp_path: Path) -> None:
    """The EXIF thumbnail is solid magenta; nothing magenta may come out, in the file or the preview."""
    source = corpus.jpeg_with_everything(tmp_path, 1)
    original, small, _ = _outputs(tmp_path, source)
    for path in (original, small):
        with Image.open(path) as im:
            colours = im.convert("RGB").getcolors(maxcolors=1 << 16) or []
        magenta = [c for count, c in colours if c[0] > 200 and c[1] < 60 and c[2] > 200]
        assert magenta == []
        assert b"\xff\xd8\xff" not in path.read_bytes()[3:], "a second JPEG (thumbnail) is embedded"


def test_orientation_only_in_xmp_is_applied(tmp_path: Path) -> None:
    source = corpus.jpeg_with_xmp_orientation(tmp_path, 6)
    original, _, _ = _outputs(tmp_path, source)
    corpus.assert_clean(original)
    with Image.open(original) as im:
        assert im.size == corpus.CANON_SIZE
        colours = corpus.quadrant_colours(im)
    for name, expected in corpus.QUADRANTS.items():
        assert corpus.close(colours[name], expected), (name, colours[name])


def test_png_text_time_exif_and_xmp_chunks_are_dropped(tmp_path: Path) -> None:
    source = corpus.png_with_chunks(tmp_path)
    before = source.read_bytes()
    for chunk in (b"tEXt", b"zTXt", b"iTXt", b"tIME", b"eXIf"):
        assert chunk in before
    original, small, _ = _outputs(tmp_path, source)
    for path in (original, small):
        data = path.read_bytes()
        assert data.startswith(b"\x89PNG")
        for chunk in (b"tEXt", b"zTXt", b"iTXt", b"tIME", b"eXIf"):
            assert chunk not in data
        corpus.assert_clean(path)


def test_webp_exif_and_xmp_are_dropped(tmp_path: Path) -> None:
    source = corpus.webp_with_metadata(tmp_path)
    assert b"EXIF" in source.read_bytes() and b"XMP " in source.read_bytes()
    original, small, _ = _outputs(tmp_path, source)
    for path in (original, small):
        data = path.read_bytes()
        assert data[8:12] == b"WEBP"
        assert b"EXIF" not in data and b"XMP " not in data
        corpus.assert_clean(path)


def test_heic_becomes_a_clean_jpeg(tmp_path: Path) -> None:
    source = corpus.heic_with_metadata(tmp_path)
    assert corpus.identifying_tags(source), "the HEIC corpus file should carry metadata"
    original, small, done = _outputs(tmp_path, source)
    assert original.read_bytes().startswith(b"\xff\xd8\xff")
    assert done.original.ext == "jpg"  # type: ignore[attr-defined]
    for path in (original, small):
        corpus.assert_clean(path)
    with Image.open(original) as im:
        colours = corpus.quadrant_colours(im)
    for name, expected in corpus.QUADRANTS.items():
        assert corpus.close(colours[name], expected), (name, colours[name])


def test_animated_gif_keeps_its_frames_and_loses_its_comment(tmp_path: Path) -> None:
    source = corpus.animated_gif(tmp_path)
    assert corpus.SECRET.encode() in source.read_bytes()
    original, small, done = _outputs(tmp_path, source)
    data = original.read_bytes()
    assert data.startswith(b"GIF89a")
    frames = corpus.gif_frames(data)
    assert len(frames) == 3
    for got, expected in zip(frames, corpus.ANIMATION_COLOURS, strict=True):
        assert corpus.close(got, expected), (got, expected)
    corpus.assert_clean(original)
    corpus.assert_clean(small)
    assert done.extra_meta["frames"] == 3  # type: ignore[attr-defined]
    assert done.extra_meta["duration"] == pytest.approx(0.6)  # type: ignore[attr-defined]


def test_preview_fits_the_box_and_blurhash_is_made(tmp_path: Path) -> None:
    source = corpus.jpeg_with_everything(tmp_path, 1, size=(1600, 1000))
    done = process_image(source, max_pixels=MAX_PIXELS, preview_size=640)
    assert (done.original.width, done.original.height) == (1600, 1000)
    assert (done.small.width, done.small.height) == (640, 400)
    assert done.small.meta()["size"] == "640x400"
    assert done.blurhash is not None and len(done.blurhash) == 28 + 8


def test_small_images_are_not_enlarged(tmp_path: Path) -> None:
    source = tmp_path / "tiny.png"
    Image.new("RGB", (50, 50), (10, 20, 30)).save(source)
    done = process_image(source, max_pixels=MAX_PIXELS, preview_size=640)
    assert done.small.meta() == {"width": 50, "height": 50, "size": "50x50", "aspect": 1.0}


def test_icc_profile_is_the_only_thing_kept(tmp_path: Path) -> None:
    from PIL import ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    source = tmp_path / "icc.jpg"
    corpus.canonical().save(source, "JPEG", icc_profile=icc, exif=corpus._exif())
    done = process_image(source, max_pixels=MAX_PIXELS, preview_size=640)
    with Image.open(io.BytesIO(done.original.data)) as im:
        assert im.info.get("icc_profile") == icc
        assert not im.getexif()


def test_crop_for_avatars(tmp_path: Path) -> None:
    source = tmp_path / "wide.png"
    Image.new("RGB", (1000, 500), (1, 2, 3)).save(source)
    done = process_image(source, max_pixels=MAX_PIXELS, preview_size=640, crop=(400, 400))
    assert (done.original.width, done.original.height) == (400, 400)


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("bomb", lambda: corpus.png_bomb_header()),
        ("truncated", corpus.truncated_jpeg),
        ("svg", lambda: corpus.SVG),
        ("html", lambda: corpus.HTML),
        ("json", lambda: corpus.JSON_DOC),
        ("polyglot", lambda: corpus.GIF_JS_POLYGLOT),
        ("empty", lambda: b""),
    ],
)
def test_hostile_images_are_refused(tmp_path: Path, name: str, make: object) -> None:
    data = make()  # type: ignore[operator]
    with pytest.raises(Unprocessable):
        process_image(data, max_pixels=MAX_PIXELS, preview_size=640)


def test_a_real_image_over_the_pixel_limit_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "big.png"
    Image.new("1", (3000, 2000)).save(source)
    with pytest.raises(Unprocessable, match="larger than 5000000 pixels"):
        process_image(source, max_pixels=5_000_000, preview_size=640)
    process_image(source, max_pixels=6_000_000, preview_size=640)


def test_appended_zip_is_not_carried_over() -> None:
    done = process_image(corpus.png_with_zip_appended(), max_pixels=MAX_PIXELS, preview_size=640)
    assert b"PK\x03\x04" not in done.original.data
    assert b"payload.html" not in done.original.data


def test_heic_orientation_is_applied_once(tmp_path: Path) -> None:
    """pillow-heif turns EXIF orientation into the HEIF rotation (applied on decoding, EXIF reset to 1):
    the picture must come out upright, not turned twice."""
    import pillow_heif

    pillow_heif.register_heif_opener()
    source = tmp_path / "o6.heic"
    stored = corpus.canonical()
    for op in corpus.STORED_FOR_ORIENTATION[6]:
        stored = stored.transpose(op)
    stored.save(source, "HEIF", quality=95, exif=corpus._exif(6, maker_note=False).tobytes())
    original, _, _ = _outputs(tmp_path, source)
    with Image.open(original) as im:
        assert im.size == corpus.CANON_SIZE
        colours = corpus.quadrant_colours(im)
    for name, expected in corpus.QUADRANTS.items():
        assert corpus.close(colours[name], expected), (name, colours[name])
