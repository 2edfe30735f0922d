"""Finding accounts and users."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from starling.models import Account, User


def split_acct(acct: str, local_domain: str) -> tuple[str, str | None]:
    """``user``, ``@user``, ``user@domain`` → (username, domain or None for local)."""
    acct = acct.strip().removeprefix("@")
    username, _, domain = acct.partition("@")
    if not domain or domain.lower() == local_domain.lower():
        return username, None
    return username, domain.lower()


async def find_by_acct(session: AsyncSession, acct: str, local_domain: str) -> Account | None:
    username, domain = split_acct(acct, local_domain)
    return await find_by_username(session, username, domain)


async def find_by_username(session: AsyncSession, username: str, domain: str | None) -> Account | None:
    result = await session.execute(
        select(Account).where(Account.username_lower == username.lower(), Account.domain_key == (domain or ""))
    )
    return result.scalar_one_or_none()


async def get_account(session: AsyncSession, account_id: int) -> Account | None:
    return await session.get(Account, account_id)


async def user_for_account(session: AsyncSession, account_id: int) -> User | None:
    result = await session.execute(select(User).where(User.account_id == account_id))
    return result.scalar_one_or_none()


async def find_user_by_login(session: AsyncSession, login: str) -> User | None:
    """A user by e-mail address or local username."""
    login = login.strip()
    if "@" in login.strip("@"):
        result = await session.execute(select(User).where(User.email == login.lower()))
        return result.scalar_one_or_none()
    account = await find_by_username(session, login.removeprefix("@"), None)
    if account is None:
        return None
    return await user_for_account(session, account.id)


async def any_admin(session: AsyncSession) -> bool:
    return (await session.execute(select(User.id).where(User.admin.is_(True)).limit(1))).first() is not None
