"""Settings, read from ``STARLING_*`` environment variables with safe embedded defaults."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STARLING_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    data_dir: Path = Path("./data")
    database_url: str | None = None
    # Public name of the server: used in URLs, acct and WebFinger. Defaults to host:port.
    domain: str | None = None
    # Scheme used in links the server emits.
    scheme: Literal["http", "https"] = "http"
    instance_title: str = "Starling"
    instance_description: str = "A Starling server: short posts, live, for everyone."
    contact_email: str = ""
    registrations: Literal["open", "approval", "closed"] = "open"
    max_status_chars: int = 500
    url_length: int = 23
    max_media_attachments: int = 4
    # Media (docs/MEDIA.md). Files live under media_dir (default <data_dir>/media) and are served at
    # media_base_url (default <base_url>/system/media), which may point at a CDN or a separate domain.
    media_dir: Path | None = None
    media_base_url: str | None = None
    media_image_size_limit: int = Field(default=16 * 1024 * 1024, ge=1)
    media_video_size_limit: int = Field(default=99 * 1024 * 1024, ge=1)
    # Decoded pixels an image may have (width × height); larger ones are refused before decoding.
    media_image_max_pixels: int = Field(default=40_000_000, ge=1)
    media_video_max_pixels: int = Field(default=3840 * 2160, ge=1)
    media_video_max_frame_rate: int = Field(default=120, ge=1)
    media_preview_size: int = Field(default=640, ge=16)
    media_ffmpeg: str = "ffmpeg"
    media_ffprobe: str = "ffprobe"
    # Seconds one ffmpeg or ffprobe run may take before the file is refused.
    media_process_timeout: float = Field(default=900.0, gt=0)
    # Mastodon's media upload budget: uploads per period (seconds), per account.
    media_rate_limit_requests: int = Field(default=30, ge=1)
    media_rate_limit_period: int = Field(default=30 * 60, ge=1)
    run_jobs_in_server: bool = True
    job_poll_interval: float = Field(default=0.5, ge=0.01)
    # Seconds a claimed job stays locked to its runner; a running job's lease is extended every third of it.
    job_lease: float = Field(default=60.0, ge=1.0)
    secret_key: str | None = None
    log_level: str = "info"
    # Secure cookies need HTTPS; off by default for the embedded http://127.0.0.1 mode.
    secure_cookies: bool = False

    # Overload protection (docs/OVERLOAD.md). Requests admitted at once per process; the rest queue
    # by priority (0 sign-in/posting/streaming, 1 signed-in reads, 2 anonymous/expensive reads).
    admission_enabled: bool = True
    max_concurrency: int = Field(default=4, ge=1)
    # Per priority 0, 1, 2: how many may wait, and how long (seconds, counted from the request's arrival):
    # a request that cannot expect a slot within its deadline is shed with a 503 on arrival; one already
    # queued is shed only at twice its deadline.
    # Reads queue two slots' worth per process: a longer read queue only makes waits longer and less
    # predictable (docs/RELIABILITY.md, drill 3); writes and sign-ins may wait in a long one.
    admission_queue_limits: tuple[int, int, int] = (512, 8, 8)
    admission_deadlines: tuple[float, float, float] = (2.0, 0.5, 0.25)
    # Anonymous reads that would be shed are answered from responses at most this old (0 turns it off).
    stale_cache_ttl: float = Field(default=5.0, ge=0)
    stale_cache_entries: int = Field(default=512, ge=1)
    # Rate limits as Mastodon's: per account with a token, per IP without.
    rate_limits_enabled: bool = True
    rate_limit_requests: int = Field(default=300, ge=1)
    rate_limit_period: int = Field(default=300, ge=1)
    # Mastodon never limits requests from the loopback address (the server's own tools, a local proxy
    # that does not pass X-Forwarded-For). Behind a proxy, the server must trust its forwarded headers.
    rate_limit_loopback_exempt: bool = True
    # Shared counters for several workers or hosts; without it every process counts on its own.
    redis_url: str | None = None
    # Structured logs: "json" (one object per line) in production, "text" for a terminal.
    log_format: Literal["json", "text"] = "text"
    metrics_enabled: bool = True
    # Requests that write run on a thread of their own with its own event loop and connections (the
    # write lane, ARCHITECTURE.md): a transaction must not wait for turns of a busy event loop between
    # its statements, holding SQLite's single write lock or PostgreSQL's row locks meanwhile.
    write_lane: Literal["on", "off"] = "on"
    # Largest request body (bytes) a write lane request may have; bigger ones (uploads) stay on the
    # event loop, which reads them before their transaction begins.
    write_lane_body_limit: int = Field(default=1024 * 1024, ge=0)
    # How long /health/ready waits for the database before answering 503.
    ready_timeout: float = Field(default=2.0, gt=0)

    # Streaming API (docs/STREAMING.md). How workers learn of new events: "auto" picks Redis when
    # redis_url is set, else LISTEN/NOTIFY on PostgreSQL, else polling the event table on SQLite.
    streaming_backend: Literal["auto", "local", "poll", "postgres", "redis"] = "auto"
    # Events are kept this long (seconds) so a client that reconnects can resume; older ones are pruned.
    streaming_retention: float = Field(default=900.0, gt=0)
    # Seconds between ":thump" heartbeats (SSE comment lines; pings on WebSockets).
    streaming_heartbeat: float = Field(default=15.0, gt=0)
    # How often a worker looks at the event table when no signal wakes it earlier (seconds).
    streaming_poll_interval: float = Field(default=0.1, gt=0)
    # Events waiting for one slow connection; past it the connection is closed (the client resumes).
    streaming_queue_size: int = Field(default=256, ge=1)
    # permessage-deflate on WebSockets: off by default (as Mastodon's streaming server), since every
    # compressed connection keeps zlib state (tens of KB) for as long as it is open.
    streaming_ws_compression: bool = False

    @property
    def server_name(self) -> str:
        if self.domain:
            return self.domain
        if self.port in (80, 443):
            return self.host
        return f"{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.server_name}"

    @property
    def streaming_url(self) -> str:
        ws = "wss" if self.scheme == "https" else "ws"
        return f"{ws}://{self.server_name}"

    @property
    def effective_media_dir(self) -> Path:
        return self.media_dir if self.media_dir is not None else self.data_dir / "media"

    @property
    def effective_media_base_url(self) -> str:
        return (self.media_base_url or f"{self.base_url}/system/media").rstrip("/")

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'starling.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")

    @property
    def uses_write_lane(self) -> bool:
        return self.write_lane == "on"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
