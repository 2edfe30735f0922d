from __future__ import annotations

from starling.adapters.db import unit_of_work
from starling.bootstrap import Container
from starling.models import Account
from starling.services.notifications.markers import read_markers, save_markers
from tests.conftest import MakeActor


async def test_saving_markers_creates_then_moves_them(container: Container, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    async with unit_of_work(container.sessions) as session:
        viewer = await session.get(Account, int(alice.id))
        assert viewer is not None
        assert await read_markers(session, viewer, ["home", "notifications", "lists"]) == []
        (home,) = await save_markers(session, viewer, {"home": 10, "lists": 3})
        assert (home.timeline, home.last_read_id, home.version) == ("home", 10, 0)
        moved = await save_markers(session, viewer, {"home": 11, "notifications": 5})
        assert [(m.timeline, m.last_read_id, m.version) for m in moved] == [("home", 11, 1), ("notifications", 5, 0)]
        again = await save_markers(session, viewer, {"home": 11})
        assert again[0].version == 1
        assert again[0].updated_at == moved[0].updated_at
        assert [m.timeline for m in await read_markers(session, viewer, ["notifications", "home"])] == [
            "home", "notifications"]
