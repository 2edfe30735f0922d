from __future__ import annotations

from dataclasses import replace

import pytest

from starling.adapters.db import unit_of_work
from starling.bootstrap import Container
from starling.config import Settings
from starling.domain.errors import Unprocessable
from starling.repositories.instance import load_settings, registrations_mode
from starling.services.instance.describe_instance import describe_instance
from starling.services.instance.update_instance_settings import InstanceSettingsChange, update_instance_settings


async def _apply(container: Container, change: InstanceSettingsChange) -> None:
    async with unit_of_work(container.sessions) as session:
        await update_instance_settings(session, change)


async def test_defaults_come_from_settings(container: Container, settings: Settings) -> None:
    async with unit_of_work(container.sessions, write=False) as session:
        info = await describe_instance(session, settings)
        assert await registrations_mode(session, settings) == settings.registrations
    assert info.title == settings.instance_title
    assert info.description == settings.instance_description
    assert info.registrations_mode == settings.registrations
    assert info.source_url is None


async def test_registrations_mode_is_stored(container: Container, settings: Settings) -> None:
    for mode in ("approval", "closed", "open"):
        await _apply(container, InstanceSettingsChange(registrations_mode=mode))
        async with unit_of_work(container.sessions, write=False) as session:
            assert await registrations_mode(session, settings) == mode
            assert (await load_settings(session))["registrations_mode"] == mode


async def test_title_description_and_extended_description(container: Container, settings: Settings) -> None:
    await _apply(container, InstanceSettingsChange(title=" Birds ", description="Tweet", extended_description="Long"))
    async with unit_of_work(container.sessions, write=False) as session:
        info = await describe_instance(session, settings, extended=True)
    assert (info.title, info.description, info.extended_description) == ("Birds", "Tweet", "Long")
    assert info.extended_description_updated_at is not None
    await _apply(container, InstanceSettingsChange(description=""))
    async with unit_of_work(container.sessions, write=False) as session:
        info = await describe_instance(session, settings)
    assert (info.title, info.description) == ("Birds", "")


async def test_blank_contact_and_source_fall_back(container: Container, settings: Settings) -> None:
    await _apply(container, InstanceSettingsChange(contact_email="a@b.example", source_url="https://code.example/s"))
    async with unit_of_work(container.sessions, write=False) as session:
        info = await describe_instance(session, settings)
    assert (info.contact_email, info.source_url) == ("a@b.example", "https://code.example/s")
    await _apply(container, InstanceSettingsChange(contact_email="", source_url=" "))
    async with unit_of_work(container.sessions, write=False) as session:
        info = await describe_instance(session, settings)
    assert (info.contact_email, info.source_url) == (settings.contact_email, None)


async def test_message_only_shows_while_closed(container: Container, settings: Settings) -> None:
    await _apply(container, InstanceSettingsChange(closed_registrations_message="Later"))
    async with unit_of_work(container.sessions, write=False) as session:
        assert (await describe_instance(session, settings)).closed_registrations_message is None
    await _apply(container, InstanceSettingsChange(registrations_mode="closed"))
    async with unit_of_work(container.sessions, write=False) as session:
        assert (await describe_instance(session, settings)).closed_registrations_message == "Later"


@pytest.mark.parametrize(
    "change",
    [
        InstanceSettingsChange(title=" "),
        InstanceSettingsChange(title="t" * 201),
        InstanceSettingsChange(registrations_mode="everyone"),
        InstanceSettingsChange(contact_email="not an address"),
        InstanceSettingsChange(source_url="ftp://example.com"),
        InstanceSettingsChange(description="d" * 1001),
    ],
)
async def test_invalid_changes_write_nothing(container: Container, change: InstanceSettingsChange) -> None:
    with pytest.raises(Unprocessable):
        await _apply(container, replace(change, extended_description="would be valid"))
    async with unit_of_work(container.sessions, write=False) as session:
        assert await load_settings(session) == {}
