from __future__ import annotations

import asyncio

from starling.web.middleware.admission import AdmissionController, AdmissionMiddleware
from starling.web.middleware.context import request_info
from starling.web.middleware.stale_cache import StaleCache
from tests.web.middleware.asgi import DummyApp, call, http_scope, until


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def setup(ttl: float = 5.0) -> tuple[DummyApp, AdmissionController, AdmissionMiddleware, FakeClock]:
    clock = FakeClock()
    app = DummyApp()
    controller = AdmissionController(1, (10, 10, 0), (30.0, 30.0, 30.0), warm_up=0)
    cache = StaleCache(ttl=ttl, max_entries=8, clock=clock)
    return app, controller, AdmissionMiddleware(app, controller=controller, cache=cache), clock


async def hold_slot(app: DummyApp, mw: AdmissionMiddleware) -> tuple[asyncio.Event, asyncio.Task[object]]:
    gate = app.gate("/hold")
    task: asyncio.Task[object] = asyncio.create_task(call(mw, http_scope("/hold", token="t")))
    await until(lambda: "/hold" in app.started)
    return gate, task


async def test_a_shed_anonymous_read_gets_the_recent_answer_marked_stale() -> None:
    app, _controller, mw, clock = setup()
    path = "/api/v1/timelines/public"
    app.bodies[path] = b'[{"id":"1"}]'
    fresh = await call(mw, http_scope(path, query="local=true"))
    assert fresh.status == 200 and "x-starling-stale" not in fresh.headers

    app.bodies[path] = b'[{"id":"2"}]'
    gate, holder = await hold_slot(app, mw)
    clock.now += 2
    scope = http_scope(path, query="local=true")
    stale = await call(mw, scope)

    assert stale.status == 200
    assert stale.body == b'[{"id":"1"}]'
    assert stale.headers["x-starling-stale"] == "1"
    assert stale.headers["age"] == "2"
    assert stale.headers["connection"] == "close"
    assert request_info(scope).stale is True
    # Another query string is another answer: nothing cached, so it is shed, once another request is
    # already renewing a copy (one at a time).
    assert mw.cache is not None and mw.cache.claim_refresh("/elsewhere?", ("192.0.2.1", 1))
    assert (await call(mw, http_scope(path, query="local=false"))).status == 503
    gate.set()
    await holder


async def test_a_copy_past_half_its_ttl_is_renewed_by_one_request_served_at_once() -> None:
    app, controller, mw, clock = setup(ttl=5.0)
    path = "/api/v1/timelines/public"
    app.bodies[path] = b"old"
    assert (await call(mw, http_scope(path))).status == 200
    gate, holder = await hold_slot(app, mw)  # the only slot is taken from now on
    clock.now += 3
    app.bodies[path] = b"new"
    app.gate(path)
    renewer = asyncio.create_task(call(mw, http_scope(path, client="198.51.100.1")))
    await until(lambda: app.started.count(path) == 2)  # served although no slot was free
    assert controller.in_flight == 2
    # Meanwhile the others still get the old copy, marked stale: one renewal at a time.
    meanwhile = await call(mw, http_scope(path, client="198.51.100.2"))
    assert (meanwhile.status, meanwhile.body, meanwhile.headers["x-starling-stale"]) == (200, b"old", "1")
    app.gates[path].set()
    renewed = await renewer
    assert (renewed.status, renewed.body) == (200, b"new") and "x-starling-stale" not in renewed.headers
    after = await call(mw, http_scope(path, client="198.51.100.3"))
    assert (after.body, after.headers["age"]) == (b"new", "0")
    assert controller.in_flight == 1
    gate.set()
    await holder


def test_one_renewal_at_a_time_and_an_abandoned_one_is_forgotten() -> None:
    clock = FakeClock()
    cache = StaleCache(ttl=5.0, clock=clock)
    cache.put("/a?", 200, [], b"a")
    assert not cache.claim_refresh("/a?", ("192.0.2.1", 1))  # fresh: nothing to renew
    clock.now += 2.6
    assert cache.claim_refresh("/a?", ("192.0.2.1", 1))
    assert cache.renewing("/a?", ("192.0.2.1", 1)) and not cache.renewing("/a?", ("192.0.2.2", 1))
    assert not cache.claim_refresh("/a?", ("192.0.2.2", 1))
    assert not cache.claim_refresh("/missing?", ("192.0.2.2", 1))
    cache.end_refresh("/a?", ("192.0.2.2", 1))  # not the holder's: nothing changes
    assert cache.renewing("/a?", ("192.0.2.1", 1))
    cache.end_refresh("/a?", ("192.0.2.1", 1))
    assert cache.claim_refresh("/missing?", ("192.0.2.2", 1))
    clock.now += 5.0  # never finished: after a whole ttl another request may renew
    assert cache.claim_refresh("/a?", ("192.0.2.3", 1))


async def test_answers_older_than_the_ttl_are_not_served() -> None:
    app, _controller, mw, clock = setup(ttl=5.0)
    path = "/api/v1/instance"
    assert (await call(mw, http_scope(path))).status == 200
    gate, holder = await hold_slot(app, mw)
    clock.now += 6
    assert mw.cache is not None and mw.cache.claim_refresh("/elsewhere?", ("192.0.2.1", 1))
    assert (await call(mw, http_scope(path))).status == 503
    gate.set()
    await holder


async def test_answers_setting_cookies_or_private_are_never_kept() -> None:
    app, _controller, mw, _clock = setup()
    app.extra_headers["/a"] = [(b"set-cookie", b"s=1")]
    app.extra_headers["/b"] = [(b"cache-control", b"private")]
    await call(mw, http_scope("/a"))
    await call(mw, http_scope("/b"))
    assert mw.cache is not None and len(mw.cache) == 0


async def test_signed_in_reads_are_never_cached() -> None:
    _app, _controller, mw, _clock = setup()
    await call(mw, http_scope("/api/v1/accounts/1", token="t"))
    await call(mw, http_scope("/api/v1/accounts/1", headers={"Cookie": "starling_session=abc"}))
    assert mw.cache is not None and len(mw.cache) == 0


async def test_the_cache_is_bounded() -> None:
    cache = StaleCache(ttl=5.0, max_entries=3)
    for i in range(10):
        cache.put(f"/p{i}?", 200, [], b"x")
    assert len(cache) == 3
    assert cache.get("/p9?") is not None and cache.get("/p0?") is None


async def test_large_bodies_are_not_kept() -> None:
    app, _controller, mw, _clock = setup()
    assert mw.cache is not None
    mw.cache.max_body = 10
    app.bodies["/big"] = b"x" * 11
    await call(mw, http_scope("/big"))
    assert len(mw.cache) == 0
