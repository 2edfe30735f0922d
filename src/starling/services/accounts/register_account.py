"""Creating a local account and the user who signs in to it."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.errors import Unprocessable
from starling.domain.ids import new_id
from starling.domain.passwords import hash_password
from starling.models import Account, User
from starling.models.base import utcnow

USERNAME = re.compile(r"^[A-Za-z0-9_]{1,30}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
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


async def register_account(session: AsyncSession, data: NewAccount) -> tuple[Account, User]:
    """Validate and create; raises 422 with every problem found, in Mastodon's words."""
    problems: list[str] = []
    username = data.username.strip()
    email = data.email.strip().lower()
    if not USERNAME.match(username):
        problems.append("username must contain only letters, numbers and underscores (1 to 30)")
    elif username.lower() in RESERVED and not data.allow_reserved:
        problems.append("username is reserved")
    elif await session.scalar(
        select(func.count()).select_from(Account).where(
            Account.username_lower == username.lower(), Account.domain_key == ""
        )
    ):
        problems.append("username is already taken")
    if not EMAIL.match(email) or len(email) > 320:
        problems.append("email is invalid")
    elif await session.scalar(select(func.count()).select_from(User).where(User.email == email)):
        problems.append("email is already taken")
    if len(data.password) < MIN_PASSWORD:
        problems.append(f"password is too short (minimum is {MIN_PASSWORD} characters)")
    elif len(data.password) > MAX_PASSWORD:
        problems.append(f"password is too long (maximum is {MAX_PASSWORD} characters)")
    if problems:
        raise Unprocessable("Validation failed: " + ", ".join(p[0].upper() + p[1:] for p in problems))
    now = utcnow()
    account = Account(
        id=new_id(), username=username, username_lower=username.lower(), domain=None, domain_key="",
        display_name="", note="", note_html="", fields=[], locked=False, bot=False, discoverable=True,
        indexable=True, followers_count=0, following_count=0, statuses_count=0,
        created_at=now, updated_at=now,
    )
    user = User(
        id=new_id(), account_id=account.id, email=email, password_hash=hash_password(data.password),
        admin=data.admin, approved=data.approved, confirmed=True, locale=(data.locale or "en")[:16],
        reason=data.reason, default_privacy="public", default_sensitive=False, created_at=now,
    )
    session.add(account)
    await session.flush()
    session.add(user)
    await session.flush()
    return account, user
