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
