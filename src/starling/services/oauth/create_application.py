"""Registering a client application (``POST /api/v1/apps``)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.errors import Unprocessable
from starling.domain.ids import new_id
from starling.domain.scopes import parse_scopes, unknown_scopes
from starling.models import Application
from starling.models.base import utcnow
from starling.services.oauth.redirect_uris import split_uris, uri_problem

MAX_NAME = 60
MAX_WEBSITE = 1000


@dataclass
class NewApplication:
    name: str | None
    redirect_uris: str | list[str] | None
    scopes: str | None = None
    website: str | None = None


def _website_ok(website: str) -> bool:
    try:
        parts = urlsplit(website)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and len(website) <= MAX_WEBSITE


async def create_application(session: AsyncSession, data: NewApplication) -> Application:
    problems: list[str] = []
    name = (data.name or "").strip()
    if not name:
        problems.append("Application name can't be blank")
    elif len(name) > MAX_NAME:
        problems.append(f"Application name is too long (maximum is {MAX_NAME} characters)")
    uris = split_uris(data.redirect_uris or "")
    if not uris:
        problems.append("Redirect URI can't be blank")
    for uri in uris:
        problem = uri_problem(uri)
        if problem:
            problems.append(f"Redirect URI {problem}")
            break
    scopes = parse_scopes(data.scopes)
    if not scopes or unknown_scopes(scopes):
        problems.append("Scopes must be a list of known scopes")
    website = (data.website or "").strip() or None
    if website is not None and not _website_ok(website):
        problems.append("Website is invalid")
    if problems:
        raise Unprocessable("Validation failed: " + ", ".join(problems))
    app = Application(
        id=new_id(),
        name=name,
        website=website,
        redirect_uris="\n".join(uris),
        scopes=" ".join(scopes),
        client_id=secrets.token_urlsafe(32),
        client_secret=secrets.token_urlsafe(32),
        created_at=utcnow(),
    )
    session.add(app)
    await session.flush()
    return app
