"""Checking a login (username or e-mail address) and password."""

from __future__ import annotations

import asyncio
from functools import lru_cache

from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.errors import Forbidden, Unauthorized
from starling.domain.passwords import hash_password, verify_password
from starling.models import Account, User
from starling.repositories.accounts import find_user_by_login, get_account

INVALID = "Invalid login or password"


@lru_cache(maxsize=1)
def _decoy_hash() -> str:
    """Checked against when the login is unknown, so a wrong name takes as long as a wrong password."""
    return hash_password("starling-decoy-password")


def _check_decoy(password: str) -> None:
    verify_password(_decoy_hash(), password)


async def authenticate(session: AsyncSession, login: str, password: str) -> tuple[User, Account]:
    """401 for a wrong login or password; 403 for a pending or disabled login (told only after the
    password was right, so the answer reveals nothing about accounts to a stranger)."""
    login = login.strip()
    user = await find_user_by_login(session, login) if login and len(login) <= 320 else None
    if user is None or not password or len(password) > 1024:
        await asyncio.to_thread(_check_decoy, password or "x")
        raise Unauthorized(INVALID)
    if not await asyncio.to_thread(verify_password, user.password_hash, password):
        raise Unauthorized(INVALID)
    account = await get_account(session, user.account_id)
    if account is None or account.suspended_at is not None:
        raise Forbidden("Your login is currently disabled")
    if not user.approved:
        raise Forbidden("Your login is currently pending approval")
    return user, account
