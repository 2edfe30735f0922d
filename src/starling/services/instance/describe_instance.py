"""Everything the instance endpoints show, read in one place: admin settings over configured defaults."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from starling.config import Settings
from starling.models import Account, Rule
from starling.models.base import utcnow
from starling.repositories import instance as repo
from starling.repositories.accounts import user_for_account
from starling.repositories.instance import RegistrationsMode

ACTIVE_MONTH = timedelta(days=28)
ACTIVE_HALF_YEAR = timedelta(days=180)


@dataclass(frozen=True)
class InstanceStats:
    user_count: int = 0
    status_count: int = 0
    domain_count: int = 0
    active_month: int = 0
    active_half_year: int = 0


@dataclass(frozen=True)
class InstanceInfo:
    title: str
    description: str
    extended_description: str
    extended_description_updated_at: datetime | None
    contact_email: str
    registrations_mode: RegistrationsMode
    closed_registrations_message: str | None
    source_url: str | None
    contact_account: Account | None = None
    rules: list[Rule] = field(default_factory=list)
    stats: InstanceStats = field(default_factory=InstanceStats)

    @property
    def registrations_open(self) -> bool:
        return self.registrations_mode != "closed"

    @property
    def approval_required(self) -> bool:
        return self.registrations_mode == "approval"


def _text(value: Any, default: str) -> str:
    return value if isinstance(value, str) else default


def _extended(value: Any) -> tuple[str, datetime | None]:
    if not isinstance(value, dict):
        return "", None
    text = _text(value.get("text"), "")
    raw = value.get("updated_at")
    try:
        updated_at = datetime.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        updated_at = None
    return text, updated_at


async def describe_instance(
    session: AsyncSession,
    settings: Settings,
    *,
    counts: bool = False,
    activity: bool = False,
    contact: bool = False,
    rules: bool = False,
    extended: bool = False,
) -> InstanceInfo:
    """Counts, activity, the contact account, rules and the extended description's date cost queries:
    ask only for what is shown.

    Until the admin writes an extended description it is dated from when the server was set up
    (its first account), so clients always get a date.
    """
    stored = await repo.load_settings(session)
    extended_text, extended_at = _extended(stored.get(repo.EXTENDED_DESCRIPTION))
    if extended and extended_at is None:
        extended_at = await repo.first_local_account_at(session) or utcnow()
    mode = repo.mode_from(stored.get(repo.REGISTRATIONS_MODE), settings)
    message = stored.get(repo.CLOSED_REGISTRATIONS_MESSAGE)
    source = stored.get(repo.SOURCE_URL)
    stats = InstanceStats()
    if counts or activity:
        now = utcnow()
        stats = InstanceStats(
            user_count=await repo.count_local_users(session) if counts else 0,
            status_count=await repo.count_local_statuses(session) if counts else 0,
            domain_count=await repo.count_known_domains(session) if counts else 0,
            active_month=await repo.count_active_users(session, now - ACTIVE_MONTH) if activity else 0,
            active_half_year=await repo.count_active_users(session, now - ACTIVE_HALF_YEAR) if activity else 0,
        )
    contact_email = _text(stored.get(repo.CONTACT_EMAIL), settings.contact_email)
    admin_account = await repo.contact_account(session) if contact or not contact_email else None
    if not contact_email and admin_account is not None:
        # Clients validate this as an address; the admin's is the honest default.
        admin = await user_for_account(session, admin_account.id)
        contact_email = admin.email if admin else ""
    return InstanceInfo(
        title=_text(stored.get(repo.TITLE), settings.instance_title),
        description=_text(stored.get(repo.DESCRIPTION), settings.instance_description),
        extended_description=extended_text,
        extended_description_updated_at=extended_at,
        contact_email=contact_email,
        registrations_mode=mode,
        closed_registrations_message=message if isinstance(message, str) and message and mode == "closed" else None,
        source_url=source if isinstance(source, str) and source else None,
        contact_account=admin_account if contact else None,
        rules=await repo.list_rules(session) if rules else [],
        stats=stats,
    )
