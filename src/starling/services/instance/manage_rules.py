"""The admin writes, edits, reorders and removes the server rules people agree to when they sign up."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.errors import NotFound, Unprocessable
from starling.domain.ids import new_id
from starling.models import Rule
from starling.models.base import utcnow
from starling.repositories import instance as repo

MAX_TEXT = 300
MAX_HINT = 2_000


def _clean_text(text: str) -> str:
    text = text.strip()
    if not text:
        raise Unprocessable("Validation failed: Text can't be blank")
    if len(text) > MAX_TEXT:
        raise Unprocessable(f"Validation failed: Text is too long (maximum is {MAX_TEXT} characters)")
    return text


def _clean_hint(hint: str) -> str:
    hint = hint.strip()
    if len(hint) > MAX_HINT:
        raise Unprocessable(f"Validation failed: Hint is too long (maximum is {MAX_HINT} characters)")
    return hint


async def _find(session: AsyncSession, rule_id: int) -> Rule:
    rule = await repo.get_rule(session, rule_id)
    if rule is None:
        raise NotFound()
    return rule


async def add_rule(session: AsyncSession, text: str, hint: str = "") -> Rule:
    """A new rule goes to the end of the list."""
    rule = Rule(
        id=new_id(), text=_clean_text(text), hint=_clean_hint(hint),
        position=await repo.next_rule_position(session), created_at=utcnow(),
    )
    session.add(rule)
    await session.flush()
    return rule


async def update_rule(session: AsyncSession, rule_id: int, *, text: str | None = None, hint: str | None = None) -> Rule:
    rule = await _find(session, rule_id)
    new_text = _clean_text(text) if text is not None else rule.text
    new_hint = _clean_hint(hint) if hint is not None else rule.hint
    rule.text = new_text
    rule.hint = new_hint
    await session.flush()
    return rule


async def move_rule(session: AsyncSession, rule_id: int, offset: int) -> list[Rule]:
    """Move a rule ``offset`` places (negative: up); returns every rule in the new order."""
    rules = await repo.list_rules(session)
    index = next((i for i, r in enumerate(rules) if r.id == rule_id), None)
    if index is None:
        raise NotFound()
    target = max(0, min(len(rules) - 1, index + offset))
    rules.insert(target, rules.pop(index))
    for position, rule in enumerate(rules):
        rule.position = position
    await session.flush()
    return rules


async def delete_rule(session: AsyncSession, rule_id: int) -> None:
    rule = await _find(session, rule_id)
    await session.delete(rule)
    await session.flush()
