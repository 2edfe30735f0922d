"""Finding accounts and users."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from starling.models import Account, FollowRequest, User


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


async def get_user(session: AsyncSession, user_id: int) -> User | None:
    return await session.get(User, user_id)


async def username_taken(session: AsyncSession, username: str) -> bool:
    found = await session.scalar(
        select(Account.id).where(Account.username_lower == username.lower(), Account.domain_key == "").limit(1)
    )
    return found is not None


async def email_taken(session: AsyncSession, email: str) -> bool:
    found = await session.scalar(select(User.id).where(User.email == email.lower()).limit(1))
    return found is not None


async def accounts_by_ids(session: AsyncSession, ids: Iterable[int]) -> dict[int, Account]:
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return {}
    result = await session.execute(select(Account).where(Account.id.in_(wanted)))
    return {a.id: a for a in result.scalars()}


async def accounts_by_usernames(
    session: AsyncSession, names: Iterable[tuple[str, str | None]]
) -> dict[tuple[str, str | None], Account]:
    """Accounts for (lowercased username, lowercased domain or None) pairs; unknown ones are left out."""
    pairs = list(dict.fromkeys((u.lower(), d.lower() if d else None) for u, d in names))
    if not pairs:
        return {}
    keys = [(u, d or "") for u, d in pairs]
    result = await session.execute(
        select(Account).where(
            or_(*[and_(Account.username_lower == u, Account.domain_key == d) for u, d in keys])
        )
    )
    return {(a.username_lower, a.domain_key or None): a for a in result.scalars()}


async def count_follow_requests(session: AsyncSession, account_id: int) -> int:
    """Pending requests to follow ``account_id``."""
    n = await session.scalar(
        select(func.count()).select_from(FollowRequest).where(FollowRequest.target_account_id == account_id)
    )
    return int(n or 0)
