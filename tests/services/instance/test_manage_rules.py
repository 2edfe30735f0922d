from __future__ import annotations

import pytest

from starling.adapters.db import unit_of_work
from starling.bootstrap import Container
from starling.domain.errors import NotFound, Unprocessable
from starling.repositories.instance import list_rules
from starling.services.instance.manage_rules import add_rule, delete_rule, move_rule, update_rule


async def _texts(container: Container) -> list[str]:
    async with unit_of_work(container.sessions, write=False) as session:
        return [r.text for r in await list_rules(session)]


async def test_add_lists_rules_in_order(container: Container) -> None:
    async with unit_of_work(container.sessions) as session:
        first = await add_rule(session, "  No spam  ")
        second = await add_rule(session, "Be kind", " Assume good faith ")
    assert first.text == "No spam"
    assert second.hint == "Assume good faith"
    assert second.position > first.position
    assert await _texts(container) == ["No spam", "Be kind"]


async def test_update_changes_only_what_is_given(container: Container) -> None:
    async with unit_of_work(container.sessions) as session:
        rule = await add_rule(session, "No spam", "Ads count")
    async with unit_of_work(container.sessions) as session:
        await update_rule(session, rule.id, text="No spam, no ads")
    async with unit_of_work(container.sessions, write=False) as session:
        [stored] = await list_rules(session)
    assert (stored.text, stored.hint) == ("No spam, no ads", "Ads count")
    async with unit_of_work(container.sessions) as session:
        await update_rule(session, rule.id, hint="")
    async with unit_of_work(container.sessions, write=False) as session:
        [stored] = await list_rules(session)
    assert (stored.text, stored.hint) == ("No spam, no ads", "")


async def test_move_reorders(container: Container) -> None:
    async with unit_of_work(container.sessions) as session:
        await add_rule(session, "a")
        await add_rule(session, "b")
        c = await add_rule(session, "c")
    async with unit_of_work(container.sessions) as session:
        await move_rule(session, c.id, -1)
    assert await _texts(container) == ["a", "c", "b"]
    async with unit_of_work(container.sessions) as session:
        await move_rule(session, c.id, -10)
    assert await _texts(container) == ["c", "a", "b"]
    async with unit_of_work(container.sessions) as session:
        await move_rule(session, c.id, 10)
    assert await _texts(container) == ["a", "b", "c"]


async def test_delete(container: Container) -> None:
    async with unit_of_work(container.sessions) as session:
        keep = await add_rule(session, "keep")
        drop = await add_rule(session, "drop")
    async with unit_of_work(container.sessions) as session:
        await delete_rule(session, drop.id)
    assert await _texts(container) == ["keep"]
    with pytest.raises(NotFound):
        async with unit_of_work(container.sessions) as session:
            await delete_rule(session, drop.id)
    with pytest.raises(NotFound):
        async with unit_of_work(container.sessions) as session:
            await update_rule(session, drop.id, text="x")
    with pytest.raises(NotFound):
        async with unit_of_work(container.sessions) as session:
            await move_rule(session, drop.id, 1)
    assert keep.id != drop.id


@pytest.mark.parametrize(("text", "hint"), [("", ""), ("   ", ""), ("x" * 301, ""), ("ok", "h" * 2001)])
async def test_invalid_rules_are_rejected_and_nothing_is_written(container: Container, text: str, hint: str) -> None:
    with pytest.raises(Unprocessable):
        async with unit_of_work(container.sessions) as session:
            await add_rule(session, text, hint)
    assert await _texts(container) == []


async def test_invalid_update_keeps_the_rule(container: Container) -> None:
    async with unit_of_work(container.sessions) as session:
        rule = await add_rule(session, "keep me")
    with pytest.raises(Unprocessable):
        async with unit_of_work(container.sessions) as session:
            await update_rule(session, rule.id, text=" ")
    assert await _texts(container) == ["keep me"]
