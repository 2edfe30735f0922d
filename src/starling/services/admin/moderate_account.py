"""Admin actions on an account: verify (with a note of who it represents), unverify, suspend."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.errors import NotFound, Unprocessable
from starling.models import AccessToken, Account
from starling.models.base import utcnow
from starling.repositories.accounts import find_by_acct, user_for_account
from starling.streaming.emit import account_suspended


async def _find(session: AsyncSession, acct: str, local_domain: str) -> Account:
    account = await find_by_acct(session, acct, local_domain)
    if account is None:
        raise NotFound(f"No account {acct}")
    return account


async def verify_account(session: AsyncSession, acct: str, note: str, local_domain: str) -> Account:
    note = note.strip()
    if not note:
        raise Unprocessable("A verification needs a note saying who the account represents")
    account = await _find(session, acct, local_domain)
    account.verified_at = utcnow()
    account.verified_note = note
    account.updated_at = utcnow()
    return account


async def unverify_account(session: AsyncSession, acct: str, local_domain: str) -> Account:
    account = await _find(session, acct, local_domain)
    account.verified_at = None
    account.verified_note = None
    account.updated_at = utcnow()
    return account


async def suspend_account(session: AsyncSession, acct: str, local_domain: str) -> Account:
    """Suspending hides the account and revokes every token of its user."""
    account = await _find(session, acct, local_domain)
    now = utcnow()
    account.suspended_at = now
    account.updated_at = now
    user = await user_for_account(session, account.id)
    if user is not None:
        await session.execute(
            update(AccessToken)
            .where(AccessToken.user_id == user.id, AccessToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )
    account_suspended(session, account.id)
    return account


async def unsuspend_account(session: AsyncSession, acct: str, local_domain: str) -> Account:
    account = await _find(session, acct, local_domain)
    account.suspended_at = None
    account.updated_at = utcnow()
    return account
