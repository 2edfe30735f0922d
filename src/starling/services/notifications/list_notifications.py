"""Browsing one's notifications (a page of them, or one)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.errors import NotFound
from starling.domain.paging import Page
from starling.models import Account
from starling.repositories import notifications
from starling.repositories.notifications import NotificationFilter, NotificationRow


async def list_notifications(
    session: AsyncSession, viewer: Account, page: Page, filters: NotificationFilter
) -> list[NotificationRow]:
    """Newest first; notifications about what the viewer can no longer see are left out."""
    return await notifications.list_page(session, viewer.id, page, filters)


async def get_notification(session: AsyncSession, viewer: Account, notification_id: int) -> NotificationRow:
    row = await notifications.find(session, viewer.id, notification_id)
    if row is None:
        raise NotFound()
    return row
