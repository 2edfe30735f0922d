from __future__ import annotations

import pytest

from starling.adapters.db import unit_of_work
from starling.bootstrap import Container
from starling.domain.errors import Unprocessable
from starling.services.maintenance.read_only import DEFAULT_MESSAGE, read_only_state, set_read_only


async def test_switch_on_and_off(container: Container) -> None:
    async with unit_of_work(container.sessions) as session:
        assert not (await read_only_state(session)).enabled
        state = await set_read_only(session, True, message="  Moving hosts until 04:00 UTC ", retry_after=600)
    assert state.enabled and state.message == "Moving hosts until 04:00 UTC" and state.retry_after == 600
    async with unit_of_work(container.sessions) as session:
        stored = await read_only_state(session)
        assert stored.enabled and stored.since is not None
        await set_read_only(session, False)
    async with unit_of_work(container.sessions, write=False) as session:
        assert not (await read_only_state(session)).enabled


async def test_default_message_and_environment_override(container: Container, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STARLING_READ_ONLY", "true")
    async with unit_of_work(container.sessions, write=False) as session:
        state = await read_only_state(session)
    assert state.enabled and state.forced_by_environment and state.message == DEFAULT_MESSAGE


async def test_bad_values_are_refused(container: Container) -> None:
    with pytest.raises(Unprocessable):
        async with unit_of_work(container.sessions) as session:
            await set_read_only(session, True, message="x" * 501)
    with pytest.raises(Unprocessable):
        async with unit_of_work(container.sessions) as session:
            await set_read_only(session, True, retry_after=0)
