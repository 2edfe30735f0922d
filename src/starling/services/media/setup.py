"""What the pipeline needs from the settings: limits, the storage, and the private incoming area.

Request handlers build it from their container's settings; job handlers, which receive only a
session, use the one the process configured last (the server configures it when its app is made),
falling back to the environment's settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from starling.config import Settings, get_settings
from starling.storage import LocalMediaStorage, MediaStorage

MB = 1024 * 1024


@dataclass(frozen=True)
class MediaLimits:
    image_size: int
    video_size: int
    image_pixels: int
    video_pixels: int
    video_frame_rate: int
    preview_size: int
    description_chars: int = 1500

    @classmethod
    def from_settings(cls, settings: Settings) -> MediaLimits:
        return cls(
            image_size=settings.media_image_size_limit,
            video_size=settings.media_video_size_limit,
            image_pixels=settings.media_image_max_pixels,
            video_pixels=settings.media_video_max_pixels,
            video_frame_rate=settings.media_video_max_frame_rate,
            preview_size=settings.media_preview_size,
        )


@dataclass(frozen=True)
class Tools:
    ffmpeg: str
    ffprobe: str
    timeout: float


@dataclass(frozen=True)
class MediaSetup:
    limits: MediaLimits
    storage: MediaStorage
    incoming_dir: Path
    tools: Tools

    def incoming_path(self, media_id: int, part: str = "file") -> Path:
        """Where an upload waits for processing; never served, removed once processed."""
        return self.incoming_dir / f"{media_id}.{part}"

    def work_dir(self) -> Path:
        path = self.incoming_dir / "work"
        path.mkdir(parents=True, exist_ok=True)
        return path


_cache: dict[tuple[object, ...], MediaSetup] = {}
_current: MediaSetup | None = None


def media_setup(settings: Settings) -> MediaSetup:
    """The setup for ``settings`` (made once per distinct configuration); it becomes the current one."""
    global _current
    key = (
        settings.effective_media_dir.resolve(), settings.data_dir.resolve(), settings.media_image_size_limit,
        settings.media_video_size_limit, settings.media_image_max_pixels, settings.media_video_max_pixels,
        settings.media_video_max_frame_rate, settings.media_preview_size, settings.media_ffmpeg,
        settings.media_ffprobe, settings.media_process_timeout,
    )
    setup = _cache.get(key)
    if setup is None:
        incoming = (settings.data_dir / "media_incoming").resolve()
        setup = MediaSetup(
            limits=MediaLimits.from_settings(settings),
            storage=LocalMediaStorage(settings.effective_media_dir),
            incoming_dir=incoming,
            tools=Tools(settings.media_ffmpeg, settings.media_ffprobe, settings.media_process_timeout),
        )
        _cache[key] = setup
    _current = setup
    return setup


def current_setup() -> MediaSetup:
    """The setup this process configured (the server does at start), else one from the environment."""
    return _current if _current is not None else media_setup(get_settings())
