"""Instance settings an admin changed (each falls back to :class:`~starling.config.Settings`), rules,
and the cheap counts the instance endpoints show.

Values are stored as plain JSON values under their key; ``extended_description`` is the one
object, ``{"text": ..., "updated_at": ...}``, because clients are told when it last changed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, cast

from sqlalchemy import delete, distinct, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from starling.config import Settings
from starling.models import AccessToken, Account, InstanceSetting, Rule, Status, User

RegistrationsMode = Literal["open", "approval", "closed"]
REGISTRATIONS_MODES: tuple[RegistrationsMode, ...] = ("open", "approval", "closed")

TITLE = "title"
DESCRIPTION = "description"
EXTENDED_DESCRIPTION = "extended_description"
CONTACT_EMAIL = "contact_email"
REGISTRATIONS_MODE = "registrations_mode"
CLOSED_REGISTRATIONS_MESSAGE = "closed_registrations_message"
SOURCE_URL = "source_url"


async def get_setting(session: AsyncSession, key: str) -> Any | None:
    row = await session.get(InstanceSetting, key)
    return None if row is None else row.value


async def load_settings(session: AsyncSession) -> dict[str, Any]:
    """Every stored instance setting, in one query."""
    rows = (await session.execute(select(InstanceSetting.key, InstanceSetting.value))).all()
    return {key: value for key, value in rows}


async def put_setting(session: AsyncSession, key: str, value: Any) -> None:
    row = await session.get(InstanceSetting, key)
    if row is None:
        session.add(InstanceSetting(key=key, value=value))
    else:
        row.value = value
    await session.flush()


async def delete_setting(session: AsyncSession, key: str) -> None:
    await session.execute(delete(InstanceSetting).where(InstanceSetting.key == key))


def mode_from(stored: Any, settings: Settings) -> RegistrationsMode:
    if stored in REGISTRATIONS_MODES:
        return cast(RegistrationsMode, stored)
    return settings.registrations


async def registrations_mode(session: AsyncSession, settings: Settings) -> RegistrationsMode:
    """``open``, ``approval`` or ``closed``: the admin's choice if made, else the configured default."""
    return mode_from(await get_setting(session, REGISTRATIONS_MODE), settings)


async def list_rules(session: AsyncSession) -> list[Rule]:
    return list((await session.execute(select(Rule).order_by(Rule.position, Rule.id))).scalars())


async def get_rule(session: AsyncSession, rule_id: int) -> Rule | None:
    return await session.get(Rule, rule_id)


async def next_rule_position(session: AsyncSession) -> int:
    highest = await session.scalar(select(func.max(Rule.position)))
    return 0 if highest is None else int(highest) + 1


def _local_users() -> Any:
    return (
        select(func.count(User.id))
        .join(Account, Account.id == User.account_id)
        .where(User.confirmed.is_(True), Account.suspended_at.is_(None))
    )


async def count_local_users(session: AsyncSession) -> int:
    return int(await session.scalar(_local_users()) or 0)


async def count_active_users(session: AsyncSession, since: datetime) -> int:
    """Local users who posted, signed in or used a token since ``since``."""
    signed_in = exists().where(
        AccessToken.user_id == User.id,
        or_(AccessToken.created_at >= since, AccessToken.last_used_at >= since),
    )
    stmt = _local_users().where(or_(Account.last_status_at >= since, signed_in))
    return int(await session.scalar(stmt) or 0)


async def count_local_statuses(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count(Status.id)).where(Status.local.is_(True))) or 0)


async def count_known_domains(session: AsyncSession) -> int:
    stmt = select(func.count(distinct(Account.domain))).where(Account.domain.is_not(None))
    return int(await session.scalar(stmt) or 0)


async def known_domains(session: AsyncSession) -> list[str]:
    """Other servers this one knows accounts of."""
    stmt = select(Account.domain).where(Account.domain.is_not(None)).distinct().order_by(Account.domain)
    return [d for d in (await session.execute(stmt)).scalars() if d]


async def first_local_account_at(session: AsyncSession) -> datetime | None:
    result: datetime | None = await session.scalar(select(func.min(Account.created_at)).where(Account.domain.is_(None)))
    return result


async def contact_account(session: AsyncSession) -> Account | None:
    """The first admin's account, the one people are pointed to for questions."""
    stmt = (
        select(Account)
        .join(User, User.account_id == Account.id)
        .where(User.admin.is_(True), Account.suspended_at.is_(None))
        .order_by(User.created_at, User.id)
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()
