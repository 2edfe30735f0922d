from __future__ import annotations

import pytest

from starling.adapters.db import unit_of_work
from starling.bootstrap import Container
from starling.domain.errors import Unprocessable
from starling.domain.ids import new_id
from starling.models import Account
from starling.models.base import utcnow
from starling.services.accounts.register_account import NewAccount, register_account
from starling.services.accounts.update_credentials import ProfileChanges, update_credentials

BASE = "https://starling.example"


async def test_note_links_known_accounts_only(container: Container) -> None:
    async with unit_of_work(container.sessions) as session:
        account, user = await register_account(
            session, NewAccount(username="hana", email="hana@example.org", password="password1")
        )
        await register_account(session, NewAccount(username="ivan", email="ivan@example.org", password="password1"))
        now = utcnow()
        session.add(Account(id=new_id(), username="remo", username_lower="remo", domain="far.example",
                            domain_key="far.example", url="https://far.example/@remo", created_at=now,
                            updated_at=now))
        await session.flush()
        creds = await update_credentials(
            session, account, user,
            ProfileChanges(note="Hi @ivan, @remo@far.example, @ivan@starling.example and @ghost",
                           fields=[(" Web ", " https://hana.example "), ("", "")]),
            base_url=BASE, local_domain="starling.example",
        )
    html = creds.account.note_html
    assert html.startswith("<p>") and html.endswith("</p>")
    assert html.count(f'href="{BASE}/@ivan"') == 2
    assert 'href="https://far.example/@remo"' in html
    assert "@ghost" in html and "ghost</span></a>" not in html
    assert creds.account.fields == [{
        "name": "Web",
        "value": "https://hana.example",
        "value_html": creds.account.fields[0]["value_html"],
    }]
    assert creds.account.fields[0]["value_html"].startswith('<a href="https://hana.example"')
    assert creds.follow_requests_count == 0


async def test_nothing_changes_when_invalid(container: Container) -> None:
    async with unit_of_work(container.sessions) as session:
        account, user = await register_account(
            session, NewAccount(username="jo", email="jo@example.org", password="password1")
        )
        with pytest.raises(Unprocessable, match="Display name is too long"):
            await update_credentials(session, account, user, ProfileChanges(display_name="x" * 31, note="kept out"),
                                     base_url=BASE, local_domain="starling.example")
        assert account.note == ""
        creds = await update_credentials(session, account, user, ProfileChanges(language=""),
                                         base_url=BASE, local_domain="starling.example")
        assert creds.user.default_language is None
