"""The admin changes how the server presents itself and who may sign up.

Each field left as ``None`` is not touched. An empty ``source_url`` or ``contact_email`` goes back
to the configured default; every other text is stored as given (after trimming).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.errors import Unprocessable
from starling.models.base import utcnow
from starling.repositories import instance as repo

MAX_TITLE = 200
MAX_DESCRIPTION = 1_000
MAX_EXTENDED_DESCRIPTION = 20_000
MAX_MESSAGE = 1_000
MAX_URL = 1_024
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_URL = re.compile(r"^https?://[^\s/]+(/\S*)?$")


@dataclass
class InstanceSettingsChange:
    title: str | None = None
    description: str | None = None
    extended_description: str | None = None
    contact_email: str | None = None
    registrations_mode: str | None = None
    closed_registrations_message: str | None = None
    source_url: str | None = None


def _check(change: InstanceSettingsChange) -> list[str]:
    problems: list[str] = []
    if change.title is not None:
        if not change.title.strip():
            problems.append("Title can't be blank")
        elif len(change.title.strip()) > MAX_TITLE:
            problems.append(f"Title is too long (maximum is {MAX_TITLE} characters)")
    if change.description is not None and len(change.description.strip()) > MAX_DESCRIPTION:
        problems.append(f"Description is too long (maximum is {MAX_DESCRIPTION} characters)")
    if change.extended_description is not None and len(change.extended_description.strip()) > MAX_EXTENDED_DESCRIPTION:
        problems.append(f"Extended description is too long (maximum is {MAX_EXTENDED_DESCRIPTION} characters)")
    if change.contact_email is not None:
        email = change.contact_email.strip()
        if email and (not _EMAIL.match(email) or len(email) > 320):
            problems.append("Contact email is invalid")
    if change.registrations_mode is not None and change.registrations_mode not in repo.REGISTRATIONS_MODES:
        problems.append("Registrations mode must be one of " + ", ".join(repo.REGISTRATIONS_MODES))
    message = change.closed_registrations_message
    if message is not None and len(message.strip()) > MAX_MESSAGE:
        problems.append(f"Closed registrations message is too long (maximum is {MAX_MESSAGE} characters)")
    if change.source_url is not None:
        url = change.source_url.strip()
        if url and (not _URL.match(url) or len(url) > MAX_URL):
            problems.append("Source URL must be an http or https address")
    return problems


async def update_instance_settings(session: AsyncSession, change: InstanceSettingsChange) -> None:
    """Validates every field first, so a rejected change writes nothing."""
    problems = _check(change)
    if problems:
        raise Unprocessable("Validation failed: " + ", ".join(problems))
    plain: dict[str, str | None] = {
        repo.TITLE: change.title,
        repo.DESCRIPTION: change.description,
        repo.CLOSED_REGISTRATIONS_MESSAGE: change.closed_registrations_message,
        repo.REGISTRATIONS_MODE: change.registrations_mode,
    }
    for key, value in plain.items():
        if value is not None:
            await repo.put_setting(session, key, value.strip())
    for key, value in ((repo.CONTACT_EMAIL, change.contact_email), (repo.SOURCE_URL, change.source_url)):
        if value is None:
            continue
        if value.strip():
            await repo.put_setting(session, key, value.strip())
        else:
            await repo.delete_setting(session, key)
    if change.extended_description is not None:
        stored: dict[str, Any] = {"text": change.extended_description.strip(), "updated_at": utcnow().isoformat()}
        await repo.put_setting(session, repo.EXTENDED_DESCRIPTION, stored)
