"""Creating a local account and the user who signs in to it."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.ids import new_id
from starling.domain.passwords import hash_password
from starling.models import Account, User
from starling.models.base import utcnow
from starling.repositories.accounts import email_taken, username_taken
from starling.services.accounts.errors import Problems

USERNAME = re.compile(r"^[A-Za-z0-9_]{1,30}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
LOCALE = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$")
RESERVED = frozenset({"admin", "root", "support", "help", "about", "api", "oauth", "settings", "system",
                      "static", "users", "tags", "auth", "web", "well-known", "nodeinfo", "health",
                      "metrics", "starling", "postmaster", "webmaster"})
MIN_PASSWORD = 8
MAX_PASSWORD = 72


@dataclass
class NewAccount:
    username: str
    email: str
    password: str
    locale: str = "en"
    reason: str | None = None
    admin: bool = False
    approved: bool = True
    allow_reserved: bool = False


async def check_new_account(session: AsyncSession, data: NewAccount, problems: Problems) -> None:
    """Add every problem with ``data`` to ``problems`` (Mastodon's error codes and wording)."""
    username = data.username.strip()
    email = data.email.strip().lower()
    if not username:
        problems.add("username", "ERR_BLANK", "can't be blank")
    elif len(username) > 30:
        problems.add("username", "ERR_TOO_LONG", "is too long (maximum is 30 characters)")
    elif not USERNAME.match(username):
        problems.add("username", "ERR_INVALID", "must contain only letters, numbers and underscores")
    elif username.lower() in RESERVED and not data.allow_reserved:
        problems.add("username", "ERR_RESERVED", "is reserved")
    elif await username_taken(session, username):
        problems.add("username", "ERR_TAKEN", "has already been taken")
    if not email:
        problems.add("email", "ERR_BLANK", "can't be blank")
    elif not EMAIL.match(email) or len(email) > 320:
        problems.add("email", "ERR_INVALID", "is invalid")
    elif await email_taken(session, email):
        problems.add("email", "ERR_TAKEN", "has already been taken")
    if not data.password:
        problems.add("password", "ERR_BLANK", "can't be blank")
    elif len(data.password) < MIN_PASSWORD:
        problems.add("password", "ERR_TOO_SHORT", f"is too short (minimum is {MIN_PASSWORD} characters)")
    elif len(data.password) > MAX_PASSWORD:
        problems.add("password", "ERR_TOO_LONG", f"is too long (maximum is {MAX_PASSWORD} characters)")
    if data.locale and not LOCALE.match(data.locale):
        problems.add("locale", "ERR_INCLUSION", "is not included in the list")


async def register_account(session: AsyncSession, data: NewAccount) -> tuple[Account, User]:
    """Validate and create; raises 422 (with per-field ``details``) listing every problem found."""
    problems = Problems()
    await check_new_account(session, data, problems)
    problems.raise_if_any()
    return await create_account(session, data)


async def hash_new_password(password: str) -> str | None:
    """The hash of a password that passes the length checks, None for one that will be refused.

    Callers hash before their first statement: on SQLite a request that writes holds the database's
    write lock from its first statement, and hashing takes tens of milliseconds."""
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        return None
    return await asyncio.to_thread(hash_password, password)


async def create_account(
    session: AsyncSession, data: NewAccount, password_hash: str | None = None
) -> tuple[Account, User]:
    """Create without checking: callers ran :func:`check_new_account` first."""
    now = utcnow()
    username = data.username.strip()
    account = Account(
        id=new_id(), username=username, username_lower=username.lower(), domain=None, domain_key="",
        display_name="", note="", note_html="", fields=[], locked=False, bot=False, discoverable=True,
        indexable=True, followers_count=0, following_count=0, statuses_count=0,
        created_at=now, updated_at=now,
    )
    if password_hash is None:
        password_hash = await asyncio.to_thread(hash_password, data.password)
    user = User(
        id=new_id(), account_id=account.id, email=data.email.strip().lower(), password_hash=password_hash,
        admin=data.admin, approved=data.approved, confirmed=True, locale=(data.locale or "en")[:16],
        reason=data.reason, default_privacy="public", default_sensitive=False, created_at=now,
    )
    session.add(account)
    await session.flush()
    session.add(user)
    await session.flush()
    return account, user
