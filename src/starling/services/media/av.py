"""Video and audio through ffmpeg: probe, check against the limits, transcode with every tag dropped.

Every upload is transcoded (H.264 + AAC in MP4 for video, AAC in M4A for audio), never copied, so
nothing of the source container survives: ``-map_metadata -1`` drops global and stream tags (title,
encoder, creation time, GPS ``©xyz``/``location`` atoms, QuickTime ``udta`` keys), ``-map_chapters -1``
the chapters, and ``+bitexact`` keeps ffmpeg from writing its own version and times. Only the first
video and first audio stream are kept; subtitles, data streams and attachments are not mapped.
A poster frame is taken from the transcoded file and goes through the image pipeline.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from starling.domain.errors import Unprocessable

_NO_METADATA = ["-map_metadata", "-1", "-map_chapters", "-1", "-fflags", "+bitexact"]
SILENT_GIFV_SECONDS = 60.0


class ToolMissing(RuntimeError):
    """ffmpeg or ffprobe is not installed: the job retries later rather than refusing the file."""


@dataclass
class Transcoded:
    type: str  # video, gifv or audio
    path: Path
    ext: str
    meta: dict[str, Any] = field(default_factory=dict)
    poster: Path | None = None


def _run(args: list[str], timeout: float) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(args, capture_output=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL)
    except FileNotFoundError as exc:
        raise ToolMissing(f"{args[0]} is not installed") from exc
    except subprocess.TimeoutExpired:
        raise Unprocessable("Validation failed: the file took too long to process", field="file") from None


def probe(path: Path, ffprobe: str, timeout: float) -> dict[str, Any]:
    done = _run([ffprobe, "-v", "error", "-print_format", "json", "-show_format", "-show_streams", str(path)],
                timeout)
    if done.returncode != 0:
        raise Unprocessable("Validation failed: the file is not a readable video or audio file", field="file")
    try:
        data = json.loads(done.stdout)
    except ValueError:
        raise Unprocessable("Validation failed: the file is not a readable video or audio file",
                            field="file") from None
    return data if isinstance(data, dict) else {}


def _rate(text: str | None) -> Fraction | None:
    try:
        rate = Fraction(text or "")
    except (ValueError, ZeroDivisionError):
        return None
    return rate if rate > 0 else None


def _duration(info: dict[str, Any]) -> float:
    try:
        return max(0.0, float(info.get("format", {}).get("duration") or 0.0))
    except (TypeError, ValueError):
        return 0.0


def _streams(info: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    video = audio = None
    for stream in info.get("streams", []):
        kind = stream.get("codec_type")
        if kind == "video" and video is None and not stream.get("disposition", {}).get("attached_pic"):
            video = stream
        elif kind == "audio" and audio is None:
            audio = stream
    return video, audio


def _length(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}.{round((seconds - whole) * 100) % 100:02d}"


def transcode(
    source: Path, work: Path, *, ffmpeg: str, ffprobe: str, timeout: float, max_pixels: int, max_frame_rate: int,
    expect_video: bool,
) -> Transcoded:
    info = probe(source, ffprobe, timeout)
    video, audio = _streams(info)
    if video is None and audio is None:
        raise Unprocessable("Validation failed: the file has no video or audio", field="file")
    if expect_video and video is None:
        raise Unprocessable("Validation failed: the file has no video stream", field="file")
    if video is not None:
        return _video(source, work, video, audio, info, ffmpeg=ffmpeg, ffprobe=ffprobe, timeout=timeout,
                      max_pixels=max_pixels, max_frame_rate=max_frame_rate)
    return _audio(source, work, ffmpeg=ffmpeg, ffprobe=ffprobe, timeout=timeout)


def _video(
    source: Path, work: Path, video: dict[str, Any], audio: dict[str, Any] | None, info: dict[str, Any], *,
    ffmpeg: str, ffprobe: str, timeout: float, max_pixels: int, max_frame_rate: int,
) -> Transcoded:
    width, height = int(video.get("width") or 0), int(video.get("height") or 0)
    if width < 1 or height < 1:
        raise Unprocessable("Validation failed: the video has no picture size", field="file")
    if width * height > max_pixels:
        raise Unprocessable(f"Validation failed: the video is larger than {max_pixels} pixels per frame",
                            field="file")
    rate = _rate(video.get("avg_frame_rate")) or _rate(video.get("r_frame_rate"))
    if rate is not None and rate > max_frame_rate:
        raise Unprocessable(f"Validation failed: the video has more than {max_frame_rate} frames per second",
                            field="file")
    out = work / "original.mp4"
    args = [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", str(source),
            "-map", "0:v:0", "-map", "0:a:0?", *_NO_METADATA, "-sn", "-dn",
            "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p",
            "-vf", "scale=trunc(iw/2)*2:trunc(ih/2)*2", "-flags:v", "+bitexact",
            "-c:a", "aac", "-b:a", "128k", "-flags:a", "+bitexact",
            "-movflags", "+faststart", "-threads", "2", str(out)]
    if _run(args, timeout).returncode != 0 or not out.exists():
        raise Unprocessable("Validation failed: the video could not be decoded", field="file")
    result = probe(out, ffprobe, timeout)
    out_video, out_audio = _streams(result)
    if out_video is None:
        raise Unprocessable("Validation failed: the video could not be decoded", field="file")
    duration = _duration(result) or _duration(info)
    w, h = int(out_video.get("width") or width), int(out_video.get("height") or height)
    out_rate = _rate(out_video.get("avg_frame_rate")) or rate or Fraction(0)
    frame_rate = f"{out_rate.numerator}/{out_rate.denominator}" if out_rate else "0/1"
    bitrate = int(result.get("format", {}).get("bit_rate") or 0)
    original = {"width": w, "height": h, "frame_rate": frame_rate, "duration": round(duration, 3),
                "bitrate": bitrate}
    meta: dict[str, Any] = {
        "length": _length(duration), "duration": round(duration, 3), "fps": round(float(out_rate)),
        "size": f"{w}x{h}", "width": w, "height": h, "aspect": round(w / h, 6) if h else 0,
        "original": original,
    }
    if out_audio is not None:
        meta["audio_encode"] = str(out_audio.get("codec_name") or "aac")
        meta["audio_bitrate"] = str(out_audio.get("bit_rate") or "")
        meta["audio_channels"] = str(out_audio.get("channel_layout") or out_audio.get("channels") or "")
    kind = "gifv" if audio is None and duration <= SILENT_GIFV_SECONDS else "video"
    poster = work / "poster.png"
    at = f"{min(1.0, duration / 2):.3f}"
    shot = _run([ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-ss", at, "-i", str(out),
                 "-frames:v", "1", "-map_metadata", "-1", "-f", "image2", "-c:v", "png", str(poster)], timeout)
    if shot.returncode != 0 or not poster.exists() or poster.stat().st_size == 0:
        shot = _run([ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", str(out),
                     "-frames:v", "1", "-map_metadata", "-1", "-f", "image2", "-c:v", "png", str(poster)], timeout)
    return Transcoded(type=kind, path=out, ext="mp4", meta=meta,
                      poster=poster if poster.exists() and poster.stat().st_size > 0 else None)


def _audio(source: Path, work: Path, *, ffmpeg: str, ffprobe: str, timeout: float) -> Transcoded:
    out = work / "original.m4a"
    args = [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", str(source),
            "-map", "0:a:0", "-vn", *_NO_METADATA, "-sn", "-dn",
            "-c:a", "aac", "-b:a", "192k", "-flags:a", "+bitexact", "-movflags", "+faststart", str(out)]
    if _run(args, timeout).returncode != 0 or not out.exists():
        raise Unprocessable("Validation failed: the audio could not be decoded", field="file")
    result = probe(out, ffprobe, timeout)
    duration = _duration(result)
    bitrate = int(result.get("format", {}).get("bit_rate") or 0)
    _, out_audio = _streams(result)
    meta: dict[str, Any] = {
        "length": _length(duration), "duration": round(duration, 3),
        "original": {"duration": round(duration, 3), "bitrate": bitrate},
    }
    if out_audio is not None:
        meta["audio_encode"] = str(out_audio.get("codec_name") or "aac")
        meta["audio_bitrate"] = str(out_audio.get("bit_rate") or "")
        meta["audio_channels"] = str(out_audio.get("channel_layout") or out_audio.get("channels") or "")
    return Transcoded(type="audio", path=out, ext="m4a", meta=meta)
