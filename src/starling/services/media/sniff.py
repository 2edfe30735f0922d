"""What a file really is, from its first bytes; the name and Content-Type a client sent are not trusted.

Only the formats on the allow-list are recognised: anything else (SVG, HTML, JSON, PDF, archives,
executables, unknown bytes) is refused before any decoder sees it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

HEAD_BYTES = 64

Family = Literal["image", "video", "audio"]


@dataclass(frozen=True)
class Sniffed:
    family: Family
    # Pillow's format name for images; a short container name for video and audio.
    format: str
    mime: str


JPEG = Sniffed("image", "JPEG", "image/jpeg")
PNG = Sniffed("image", "PNG", "image/png")
GIF = Sniffed("image", "GIF", "image/gif")
WEBP = Sniffed("image", "WEBP", "image/webp")
HEIF = Sniffed("image", "HEIF", "image/heic")
MP4 = Sniffed("video", "mp4", "video/mp4")
MOV = Sniffed("video", "mov", "video/quicktime")
WEBM = Sniffed("video", "webm", "video/webm")
MP3 = Sniffed("audio", "mp3", "audio/mpeg")
OGG = Sniffed("audio", "ogg", "audio/ogg")
WAV = Sniffed("audio", "wav", "audio/wave")

SUPPORTED_MIME_TYPES = [
    "image/jpeg", "image/png", "image/gif", "image/webp", "image/heic", "image/heif",
    "video/mp4", "video/quicktime", "video/webm",
    "audio/mpeg", "audio/mp3", "audio/ogg", "audio/vorbis", "audio/wave", "audio/wav", "audio/x-wav",
]

_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis"}
_HEIF_GENERIC = {b"mif1", b"msf1"}
_QUICKTIME_BRANDS = {b"qt  "}
_MP4_BRANDS = {b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"M4V ",
               b"M4VP", b"M4A ", b"3gp4", b"3gp5", b"3gp6", b"3g2a", b"dash", b"MSNV", b"f4v ", b"XAVC", b"mmp4"}
_MOV_ATOMS = {b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}


def _ftyp(head: bytes) -> Sniffed | None:
    if len(head) < 12 or head[4:8] != b"ftyp":
        return None
    size = int.from_bytes(head[0:4], "big")
    major = head[8:12]
    brands = {major}
    end = min(max(size, 16), len(head))
    brands.update(head[i:i + 4] for i in range(16, end - 3, 4))
    if major in _HEIF_BRANDS or (major in _HEIF_GENERIC and brands & _HEIF_BRANDS):
        return HEIF
    if major in _QUICKTIME_BRANDS:
        return MOV
    if major in _MP4_BRANDS or brands & _MP4_BRANDS:
        return MP4
    return None


def sniff(head: bytes) -> Sniffed | None:
    """The allowed format ``head`` (the file's first bytes) starts as, or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if head[0:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head[0:4] == b"RIFF" and head[8:12] == b"WAVE":
        return WAV
    found = _ftyp(head)
    if found is not None:
        return found
    if len(head) >= 8 and head[4:8] in _MOV_ATOMS:
        return MOV
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return WEBM
    if head.startswith(b"OggS"):
        return OGG
    if head.startswith(b"ID3") or (len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and head[1] & 0x06):
        return MP3
    return None
