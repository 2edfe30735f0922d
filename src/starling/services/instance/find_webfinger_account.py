"""WebFinger: which local account a ``resource`` (``acct:user@server`` or a profile address) names."""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.errors import BadRequest, Gone, NotFound
from starling.models import Account
from starling.repositories.accounts import find_by_username

_PROFILE_PATH = re.compile(r"^/(?:users/|@)(?P<username>[^/@]+)/?$")


def _from_acct(acct: str, server_name: str) -> str:
    if acct.startswith("@") and acct.count("@") > 1:
        acct = acct[1:]
    username, _, domain = acct.partition("@")
    if not username or not domain or "@" in domain:
        raise BadRequest("The resource is not a valid acct: address")
    if domain.lower() != server_name.lower():
        raise NotFound()
    return username


def _from_url(url: str, server_name: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        raise BadRequest("The resource is not a valid address") from None
    if parts.netloc.lower() != server_name.lower():
        raise NotFound()
    match = _PROFILE_PATH.match(unquote(parts.path))
    if match is None:
        raise NotFound()
    return match.group("username")


def username_of(resource: str | None, server_name: str) -> str:
    """The local username in ``resource``; 400 when it is missing or malformed, 404 when it is not ours."""
    resource = (resource or "").strip()
    if not resource:
        raise BadRequest("The resource parameter is required")
    if re.match(r"^https?://", resource, re.IGNORECASE):
        return _from_url(resource, server_name)
    if "@" in resource:
        acct = resource[5:] if resource.lower().startswith("acct:") else resource
        return _from_acct(acct, server_name)
    raise BadRequest("The resource must be an acct: URI or a profile address")


async def find_webfinger_account(session: AsyncSession, resource: str | None, server_name: str) -> Account:
    account = await find_by_username(session, username_of(resource, server_name), None)
    if account is None:
        raise NotFound()
    if account.suspended_at is not None:
        raise Gone("This account is suspended")
    return account
