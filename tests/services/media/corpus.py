"""Test files made on the spot with Pillow, exiftool and ffmpeg: photos loaded with identifying
metadata, every EXIF orientation, hostile files, and short videos with location tags.

Nothing here is a fixture file checked into the repository: every byte is generated, so what each
file carries is stated in the code that makes it.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path
from typing import Any

from PIL import Image, ImageSequence
from PIL.PngImagePlugin import PngInfo

from tests.support.live_server import skip_or_fail

SERIAL = "CAM-SERIAL-8675309"
OWNER = "Jane Photographer"
SECRET = "Secret-Street-Corner"

# Four quadrants of distinct colours: any flip or rotation moves them somewhere else.
QUADRANTS = {"top_left": (230, 30, 30), "top_right": (30, 200, 40), "bottom_left": (30, 60, 230),
             "bottom_right": (240, 220, 30)}
CANON_SIZE = (96, 64)


def require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        skip_or_fail(f"{tool} is not installed")
    assert path is not None
    return path


def canonical() -> Image.Image:
    """The picture as it should be seen: wider than tall, a different colour in each quadrant."""
    w, h = CANON_SIZE
    im = Image.new("RGB", CANON_SIZE)
    for (name, colour), box in zip(
        QUADRANTS.items(),
        [(0, 0, w // 2, h // 2), (w // 2, 0, w, h // 2), (0, h // 2, w // 2, h), (w // 2, h // 2, w, h)],
        strict=True,
    ):
        assert name
        im.paste(colour, box)
    return im


def quadrant_colours(im: Image.Image) -> dict[str, tuple[int, int, int]]:
    rgb = im.convert("RGB")
    w, h = rgb.size
    points = {"top_left": (w // 4, h // 4), "top_right": (3 * w // 4, h // 4),
              "bottom_left": (w // 4, 3 * h // 4), "bottom_right": (3 * w // 4, 3 * h // 4)}
    out = {}
    for name, xy in points.items():
        px = rgb.getpixel(xy)
        assert isinstance(px, tuple)
        out[name] = (int(px[0]), int(px[1]), int(px[2]))
    return out


def close(a: tuple[int, int, int], b: tuple[int, int, int], tolerance: int = 40) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a, b, strict=True))


# How the stored pixels must be laid out so that a viewer applying EXIF orientation n shows the
# canonical picture: the inverse of the display transform for each orientation.
STORED_FOR_ORIENTATION: dict[int, list[Image.Transpose]] = {
    1: [],
    2: [Image.Transpose.FLIP_LEFT_RIGHT],
    3: [Image.Transpose.ROTATE_180],
    4: [Image.Transpose.FLIP_TOP_BOTTOM],
    5: [Image.Transpose.TRANSPOSE],
    6: [Image.Transpose.ROTATE_90],  # displayed by turning 90° clockwise
    7: [Image.Transpose.TRANSVERSE],
    8: [Image.Transpose.ROTATE_270],  # displayed by turning 90° anticlockwise
}


def _exif(orientation: int | None = None, *, maker_note: bool = True) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "Canon"  # Make
    exif[0x0110] = "Canon EOS 5D Mark IV"  # Model
    exif[0x0131] = "Firmware 1.0.4"  # Software
    exif[0x0132] = "2021:06:01 12:34:56"  # DateTime
    exif[0x013B] = OWNER  # Artist
    if orientation is not None:
        exif[0x0112] = orientation
    sub = exif.get_ifd(0x8769)
    sub[0x9003] = "2021:06:01 12:34:56"  # DateTimeOriginal
    sub[0xA431] = SERIAL  # BodySerialNumber
    sub[0xA430] = OWNER  # CameraOwnerName
    if maker_note:
        sub[0x927C] = b"Canon\x00" + SERIAL.encode() + b"\x00" * 16  # MakerNote
    return exif


XMP = (
    '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"'
    ' xmlns:exif="http://ns.adobe.com/exif/1.0/" xmlns:tiff="http://ns.adobe.com/tiff/1.0/"'
    f' exif:GPSLatitude="48,51.5N" exif:GPSLongitude="2,17.7E" tiff:Make="Canon" tiff:Model="EOS"'
    f' exif:BodySerialNumber="{SERIAL}">'
    f'<dc:creator><rdf:Seq><rdf:li>{OWNER}</rdf:li></rdf:Seq></dc:creator>'
    f'<dc:description><rdf:Alt><rdf:li xml:lang="x-default">{SECRET}</rdf:li></rdf:Alt></dc:description>'
    '</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
)


def xmp_with_orientation(orientation: int) -> str:
    return XMP.replace('tiff:Make="Canon"', f'tiff:Orientation="{orientation}" tiff:Make="Canon"')


def _exiftool_write(path: Path, *args: str) -> None:
    exiftool = require("exiftool")
    done = subprocess.run([exiftool, "-overwrite_original", "-q", *args, str(path)], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr


def jpeg_with_everything(tmp: Path, orientation: int = 1, *, size: tuple[int, int] | None = None) -> Path:
    """A JPEG stored so that orientation ``orientation`` shows the canonical picture, carrying EXIF
    (camera make, model, serial, owner, dates, MakerNote), GPS, an embedded thumbnail of different
    pixels (solid magenta), XMP and IPTC."""
    stored = canonical() if size is None else canonical().resize(size)
    for op in STORED_FOR_ORIENTATION[orientation]:
        stored = stored.transpose(op)
    path = tmp / f"photo-o{orientation}.jpg"
    stored.save(path, "JPEG", quality=95, exif=_exif(orientation))
    thumb = tmp / "thumb.jpg"
    Image.new("RGB", (64, 48), (255, 0, 255)).save(thumb, "JPEG")
    _exiftool_write(
        path,
        "-GPSLatitude=48.858370", "-GPSLatitudeRef=N", "-GPSLongitude=2.294481", "-GPSLongitudeRef=E",
        "-GPSAltitude=35", "-GPSDateStamp=2021:06:01", f"-ThumbnailImage<={thumb}",
        f"-XMP-dc:Creator={OWNER}", f"-XMP-dc:Description={SECRET}", "-XMP-exif:GPSLatitude=48.85",
        f"-IPTC:By-line={OWNER}", f"-IPTC:City={SECRET}", "-IPTC:Country-PrimaryLocationName=France",
        f"-Comment={SECRET}",
    )
    return path


def jpeg_with_xmp_orientation(tmp: Path, orientation: int = 6) -> Path:
    """Orientation only in XMP (``tiff:Orientation``), none in EXIF."""
    stored = canonical()
    for op in STORED_FOR_ORIENTATION[orientation]:
        stored = stored.transpose(op)
    path = tmp / f"photo-xmp-o{orientation}.jpg"
    stored.save(path, "JPEG", quality=95, xmp=xmp_with_orientation(orientation).encode())
    return path


def png_with_chunks(tmp: Path) -> Path:
    info = PngInfo()
    info.add_text("Author", OWNER)
    info.add_text("Comment", SECRET, zip=True)  # zTXt
    info.add_itxt("Description", SECRET, lang="en", tkey="Description")  # iTXt
    info.add_itxt("XML:com.adobe.xmp", XMP)
    info.add(b"tIME", struct.pack(">HBBBBB", 2021, 6, 1, 12, 34, 56))
    path = tmp / "chunks.png"
    canonical().convert("RGBA").save(path, "PNG", pnginfo=info, exif=_exif(maker_note=False))
    return path


def webp_with_metadata(tmp: Path) -> Path:
    path = tmp / "photo.webp"
    canonical().save(path, "WEBP", quality=95, exif=_exif(maker_note=False), xmp=XMP.encode())
    return path


def heic_with_metadata(tmp: Path) -> Path:
    import pillow_heif

    pillow_heif.register_heif_opener()
    path = tmp / "photo.heic"
    canonical().save(path, "HEIF", quality=95, exif=_exif(maker_note=False).tobytes(), xmp=XMP.encode())
    return path


ANIMATION_COLOURS = [(220, 20, 20), (20, 200, 20), (20, 20, 220)]


def animated_gif(tmp: Path) -> Path:
    frames = [Image.new("RGB", (40, 30), c) for c in ANIMATION_COLOURS]
    path = tmp / "anim.gif"
    frames[0].save(path, "GIF", save_all=True, append_images=frames[1:], duration=[100, 200, 300], loop=0,
                   comment=SECRET.encode())
    return path


def gif_frames(data: bytes) -> list[tuple[int, int, int]]:
    with Image.open(io.BytesIO(data)) as im:
        return [quadrant_colours(f.copy())["top_left"] for f in ImageSequence.Iterator(im)]


# Hostile files


def png_bomb_header(width: int = 30000, height: int = 30000) -> bytes:
    """A PNG that claims to be ``width`` × ``height`` (900 megapixels) in a few hundred bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    compressor = zlib.compressobj(9)
    idat = compressor.compress(row * 64) + compressor.flush()
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def truncated_jpeg() -> bytes:
    out = io.BytesIO()
    noisy = Image.effect_noise((256, 256), 64).convert("RGB")
    noisy.save(out, "JPEG", quality=90)
    data = out.getvalue()
    return data[: len(data) // 2]


SVG = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
       b'<script>alert(document.cookie)</script></svg>')
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
JSON_DOC = b'{"error": "not an image", "looks_like": "image/png"}'
# Starts as a GIF header but is JavaScript: a GIF/JS polyglot with no decodable picture.
GIF_JS_POLYGLOT = b"GIF89a/*\x00\x00\x00\x00*/=1;alert(document.domain);//" + b"\x00" * 64


def png_with_zip_appended() -> bytes:
    """A valid PNG followed by a ZIP archive (a PNG/ZIP polyglot)."""
    out = io.BytesIO()
    canonical().save(out, "PNG")
    import zipfile

    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("payload.html", "<script>alert(1)</script>")
    return out.getvalue() + archive.getvalue()


# Videos


def video_with_metadata(tmp: Path, *, container: str = "webm", seconds: int = 5, size: str = "50x50",
                        audio: bool = True) -> Path:
    ffmpeg = require("ffmpeg")
    path = tmp / f"clip.{container}"
    codecs = {"webm": ["-c:v", "libvpx", "-b:v", "200k", "-c:a", "libvorbis"],
              "mov": ["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"],
              "mp4": ["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"]}[container]
    args = [ffmpeg, "-nostdin", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", f"testsrc=size={size}:rate=25:duration={seconds}"]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}"]
    else:
        codecs = [c for c in codecs if c not in ("-c:a", "libvorbis", "aac")]
    args += [*codecs, "-metadata", f"title={SECRET}", "-metadata", f"artist={OWNER}",
             "-metadata", "location=+48.8584+002.2945/", "-metadata", "location-eng=+48.8584+002.2945/",
             "-metadata", "creation_time=2021-06-01T12:34:56Z", "-metadata", f"comment={SERIAL}",
             "-metadata", "make=Apple", "-metadata", "model=iPhone 12"]
    if container in ("mov", "mp4"):
        args += ["-movflags", "use_metadata_tags"]
    args.append(str(path))
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return path


def audio_with_tags(tmp: Path, fmt: str, codec_args: list[str]) -> Path:
    """Three seconds of a tone with a title and an artist."""
    ffmpeg = require("ffmpeg")
    path = tmp / f"tone.{fmt}"
    done = subprocess.run([ffmpeg, "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                           "sine=frequency=300:duration=3", *codec_args, "-metadata", f"title={SECRET}",
                           "-metadata", f"artist={OWNER}", str(path)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return path


def ffprobe_json(path: Path) -> dict[str, Any]:
    ffprobe = require("ffprobe")
    done = subprocess.run([ffprobe, "-v", "error", "-print_format", "json", "-show_format", "-show_streams",
                           str(path)], capture_output=True, text=True, check=True)
    data = json.loads(done.stdout)
    assert isinstance(data, dict)
    return data


# Checking what a file carries


_FORBIDDEN_GROUPS = re.compile(r"^(IFD0|IFD1|ExifIFD|GPS|InteropIFD|MakerNotes|XMP.*|IPTC|Photoshop|Canon.*|"
                               r"Apple|UserData|ItemList|Keys|Microsoft|RIFF-?INFO)$")
_FORBIDDEN_NAMES = re.compile(r"(GPS|Serial|Make|Model|Date|Time|Thumbnail|Preview|MakerNote|Creator|Artist|Author|"
                              r"Comment|Software|Copyright|Location|Owner|Lens|By-line|City|Country|Title|Description|"
                              r"Keyword|Encoder|Firmware)", re.IGNORECASE)
_ALWAYS_ALLOWED_GROUPS = {"ExifTool", "System", "File"}
_ZERO_DATE = "0000:00:00 00:00:00"


def exiftool_tags(path: Path) -> dict[str, Any]:
    exiftool = require("exiftool")
    done = subprocess.run([exiftool, "-j", "-a", "-G1", "-b", "-struct", str(path)], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
    [tags] = json.loads(done.stdout)
    assert isinstance(tags, dict)
    return tags


def identifying_tags(path: Path) -> dict[str, Any]:
    """Every tag that could locate or identify the person or the device: must be empty for served files.

    Allowed: the file-system facts exiftool adds about the file itself, the ICC colour profile, and the
    structural zero dates every MP4 header has (ffmpeg writes them as zero in bit-exact mode).
    """
    found = {}
    for key, value in exiftool_tags(path).items():
        group, _, name = key.partition(":")
        if not name or group in _ALWAYS_ALLOWED_GROUPS or group.startswith("ICC"):
            continue
        if _FORBIDDEN_GROUPS.match(group):
            found[key] = value
        elif _FORBIDDEN_NAMES.search(name) and value != _ZERO_DATE and name not in _STRUCTURAL_NAMES:
            found[key] = value
    return found


# Tags whose names look alarming but describe only the format (e.g. MP4's per-track handler and
# timescale headers, PNG and JPEG structure).
_STRUCTURAL_NAMES = {"TimeScale", "MediaTimeScale", "PreviewTime", "PreviewDuration", "PosterTime", "SelectionTime",
                     "SelectionDuration", "CurrentTime", "HandlerDescription", "Duration", "MediaDuration",
                     "TrackDuration", "FrameRate", "VideoFrameRate", "TimeCode", "MatrixStructure",
                     "CompressorName"}


def assert_clean(path: Path) -> None:
    found = identifying_tags(path)
    assert found == {}, f"{path.name} still carries: {found}"
    raw = path.read_bytes()
    for needle in (SERIAL.encode(), OWNER.encode(), SECRET.encode(), b"48.858", b"+48.8584", b"Canon"):
        assert needle not in raw, f"{path.name} contains {needle!r}"
