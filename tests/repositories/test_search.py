from __future__ import annotations

import pytest

from starling.adapters.db import unit_of_work
from starling.bootstrap import Container
from starling.domain.paging import Page
from starling.repositories.search import AccountQuery, fts5_query, like_prefix, search_accounts, search_statuses
from tests.conftest import MakeActor
from tests.support import factories as f


def test_fts5_query_quotes_every_word() -> None:
    assert fts5_query('say "hi" AND (there') == '"say" """hi""" "AND" "(there"'
    assert fts5_query("  ( ) * -  ") is None
    assert fts5_query("") is None


def test_like_prefix_takes_wildcards_literally() -> None:
    assert like_prefix("a_b%c\\") == "a\\_b\\%c\\\\%"


async def test_full_text_search_matches_all_words(container: Container, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    both = await f.status(container, alice.id, "Red apples and green pears")
    await f.status(container, alice.id, "only apples")
    async with unit_of_work(container.sessions, write=False) as session:
        found = await search_statuses(session, "apples pears", int(alice.id), Page())
        assert [s.id for s in found] == [both]
        assert len(await search_statuses(session, "APPLES", int(alice.id), Page())) == 2
        assert await search_statuses(session, '"apples" OR (', int(alice.id), Page()) == []
        assert await search_statuses(session, "(((", int(alice.id), Page()) == []


@pytest.mark.parametrize("username", ["%", "_", "\\"])
async def test_account_search_wildcards_match_nothing(
    container: Container, make_actor: MakeActor, username: str
) -> None:
    await make_actor("alice")
    async with unit_of_work(container.sessions, write=False) as session:
        assert await search_accounts(session, AccountQuery(username), None, following=False, limit=5) == []
