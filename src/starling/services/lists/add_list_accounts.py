"""Adding accounts to a list: only accounts the owner follows (or the owner), all or none of them."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.errors import NotFound, Unprocessable
from starling.domain.ids import new_id
from starling.models import Account, ListAccount
from starling.models.base import utcnow
from starling.repositories import lists
from starling.repositories.graph import existing_account_ids
from starling.services.lists.own_list import load_own_list
from starling.streaming.emit import graph_changed

# Mastodon takes any number; a bound keeps one request from holding the write lock for long.
MAX_ACCOUNTS = 1000


async def add_list_accounts(session: AsyncSession, owner: Account, list_id: int, account_ids: list[int]) -> None:
    """As Mastodon: an unknown account, or one the owner does not follow, is not found (404); an account
    already in the list is a validation error (422). Either way nothing is added."""
    the_list = await load_own_list(session, owner, list_id)
    wanted = list(dict.fromkeys(account_ids))
    if len(wanted) > MAX_ACCOUNTS:
        raise Unprocessable(f"Validation failed: at most {MAX_ACCOUNTS} accounts can be added at once",
                            field="account_ids")
    if not wanted:
        return
    found = await existing_account_ids(session, wanted, with_suspended=False)
    follows = await lists.follow_ids(session, owner.id, wanted)
    for account_id in wanted:
        if account_id not in found or (account_id != owner.id and account_id not in follows):
            raise NotFound()
    if await lists.member_ids(session, the_list.id, wanted):
        raise _taken()
    now = utcnow()
    for account_id in wanted:
        session.add(ListAccount(id=new_id(), list_id=the_list.id, account_id=account_id,
                                follow_id=follows.get(account_id), created_at=now))
    try:
        await session.flush()
    except IntegrityError:
        # A concurrent request added one of them (or ended a follow) first; the request rolls back.
        raise _taken() from None
    graph_changed(session, owner.id)


def _taken() -> Unprocessable:
    return Unprocessable("Validation failed: Account has already been taken", field="account_id", code="ERR_TAKEN")
