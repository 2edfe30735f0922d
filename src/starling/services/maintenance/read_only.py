"""Read-only mode: every page and timeline stays readable while writes are refused.

The switch is an instance setting, so every worker process sees it (each reads it at most every
couple of seconds); ``STARLING_READ_ONLY=true`` forces it on from the environment, for when the
database itself must not be written.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.errors import Unprocessable
from starling.models.base import utcnow
from starling.repositories import instance as settings_repo

SETTING = "read_only"
ENV_VAR = "STARLING_READ_ONLY"
DEFAULT_MESSAGE = "This server is in read-only mode for maintenance; reading works, posting is paused"
DEFAULT_RETRY_AFTER = 300
MAX_MESSAGE = 500
# Each server process reads the switch at most this often.
CACHE_SECONDS = 2.0
CACHE_NOTE = f"Every server process follows within {CACHE_SECONDS:g} seconds."


@dataclass(frozen=True)
class ReadOnlyState:
    enabled: bool
    message: str = DEFAULT_MESSAGE
    since: datetime | None = None
    retry_after: int = DEFAULT_RETRY_AFTER
    forced_by_environment: bool = False


OFF = ReadOnlyState(enabled=False)


def forced_by_environment() -> bool:
    return os.environ.get(ENV_VAR, "").strip().lower() in ("1", "true", "yes", "on")


def _from_stored(value: object) -> ReadOnlyState:
    if not isinstance(value, dict) or not value.get("enabled"):
        return OFF
    message = value.get("message")
    since = value.get("since")
    retry_after = value.get("retry_after")
    return ReadOnlyState(
        enabled=True,
        message=message if isinstance(message, str) and message.strip() else DEFAULT_MESSAGE,
        since=datetime.fromisoformat(since) if isinstance(since, str) else None,
        retry_after=retry_after if isinstance(retry_after, int) and retry_after > 0 else DEFAULT_RETRY_AFTER,
    )


async def read_only_state(session: AsyncSession) -> ReadOnlyState:
    state = _from_stored(await settings_repo.get_setting(session, SETTING))
    if not state.enabled and forced_by_environment():
        return ReadOnlyState(enabled=True, forced_by_environment=True)
    return state


async def set_read_only(
    session: AsyncSession, enabled: bool, *, message: str | None = None, retry_after: int | None = None
) -> ReadOnlyState:
    if message is not None and len(message.strip()) > MAX_MESSAGE:
        raise Unprocessable(f"The message is too long (maximum is {MAX_MESSAGE} characters)")
    if retry_after is not None and not 1 <= retry_after <= 86_400:
        raise Unprocessable("Retry-After must be between 1 second and 1 day")
    if not enabled:
        await settings_repo.delete_setting(session, SETTING)
        return await read_only_state(session)
    stored = {
        "enabled": True,
        "message": (message or "").strip() or DEFAULT_MESSAGE,
        "since": utcnow().isoformat(),
        "retry_after": retry_after or DEFAULT_RETRY_AFTER,
    }
    await settings_repo.put_setting(session, SETTING, stored)
    return _from_stored(stored)
