"""Viewing accounts by id or by ``acct``: unknown and suspended accounts are not found."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.errors import NotFound, Unprocessable
from starling.models import Account
from starling.repositories.accounts import accounts_by_ids, find_by_acct, get_account

MAX_IDS = 40


def _visible(account: Account | None) -> Account:
    if account is None or account.suspended_at is not None:
        raise NotFound()
    return account


async def show_account(session: AsyncSession, account_id: int) -> Account:
    return _visible(await get_account(session, account_id))


async def lookup_account(session: AsyncSession, acct: str | None, local_domain: str) -> Account:
    if not acct or not acct.strip().removeprefix("@"):
        raise NotFound()
    return _visible(await find_by_acct(session, acct, local_domain))


async def show_accounts(session: AsyncSession, ids: list[int]) -> list[Account]:
    """In the order asked, each once; ids that are not found are left out."""
    if len(ids) > MAX_IDS:
        raise Unprocessable(f"Validation failed: at most {MAX_IDS} ids may be given")
    found = await accounts_by_ids(session, ids)
    out = []
    for account_id in dict.fromkeys(ids):
        account = found.get(account_id)
        if account is not None and account.suspended_at is None:
            out.append(account)
    return out
