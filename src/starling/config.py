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
    run_jobs_in_server: bool = True
    job_poll_interval: float = Field(default=0.5, ge=0.01)
    secret_key: str | None = None
    log_level: str = "info"
    # Secure cookies need HTTPS; off by default for the embedded http://127.0.0.1 mode.
    secure_cookies: bool = False

    # Overload protection (docs/OVERLOAD.md). Requests admitted at once per process; the rest queue
    # by priority (0 sign-in/posting/streaming, 1 signed-in reads, 2 anonymous/expensive reads).
    admission_enabled: bool = True
    max_concurrency: int = Field(default=32, ge=1)
    # Per priority 0, 1, 2: how many may wait, and how long (seconds) before being shed with a 503.
    admission_queue_limits: tuple[int, int, int] = (512, 256, 128)
    admission_deadlines: tuple[float, float, float] = (5.0, 1.0, 0.05)
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
    # How long /health/ready waits for the database before answering 503.
    ready_timeout: float = Field(default=2.0, gt=0)

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
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'starling.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
