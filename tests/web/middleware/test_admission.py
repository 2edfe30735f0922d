from __future__ import annotations

import asyncio

import pytest
from starlette.types import Send

from starling.web.middleware.admission import BUSY_MESSAGE, AdmissionController, AdmissionMiddleware
from starling.web.middleware.classify import FIRST, LAST, NEXT, classify
from starling.web.middleware.context import request_info
from starling.web.middleware.stale_cache import StaleCache
from tests.web.middleware.asgi import DummyApp, call, http_scope, until

LONG = (30.0, 30.0, 30.0)


def make(
    capacity: int = 1,
    *,
    queue_limits: tuple[int, int, int] = (10, 10, 10),
    deadlines: tuple[float, float, float] = LONG,
    cache: StaleCache | None = None,
    service_time: float = 0.05,
) -> tuple[DummyApp, AdmissionController, AdmissionMiddleware]:
    app = DummyApp()
    controller = AdmissionController(capacity, queue_limits, deadlines, initial_service_time=service_time, warm_up=0)
    return app, controller, AdmissionMiddleware(app, controller=controller, cache=cache)


@pytest.mark.parametrize(
    ("path", "method", "token", "priority"),
    [
        ("/oauth/token", "POST", None, FIRST),
        ("/oauth/authorize", "GET", None, FIRST),
        ("/auth/sign_in", "POST", None, FIRST),
        ("/api/v1/apps", "POST", None, FIRST),
        ("/api/v1/accounts", "POST", None, FIRST),
        ("/api/v1/statuses", "POST", "t", FIRST),
        ("/api/v1/accounts/1/follow", "POST", "t", FIRST),
        ("/api/v1/streaming/user", "GET", "t", FIRST),
        ("/api/v1/timelines/home", "GET", "t", NEXT),
        ("/api/v1/notifications", "GET", "t", NEXT),
        ("/api/v2/search", "GET", "t", NEXT),
        ("/api/v1/timelines/public", "GET", None, LAST),
        ("/api/v2/search", "GET", None, LAST),
        ("/api/v1/directory", "GET", None, LAST),
        ("/api/v1/statuses", "POST", None, LAST),
        ("/inbox", "POST", None, LAST),
        ("/users/alice/inbox", "POST", None, LAST),
    ],
)
def test_classification(path: str, method: str, token: str | None, priority: int) -> None:
    assert classify(http_scope(path, method, token=token)) == priority


def test_access_token_in_query_and_session_cookie_count_as_signed_in() -> None:
    assert classify(http_scope("/api/v1/timelines/home", query="access_token=abc")) == NEXT
    assert classify(http_scope("/", headers={"Cookie": "starling_session=xyz"})) == NEXT
    assert classify(http_scope("/", headers={"Cookie": "theme=dark"})) == LAST


async def test_free_slots_admit_at_once() -> None:
    _app, controller, mw = make(capacity=2)
    answer = await call(mw, http_scope("/api/v1/timelines/public"))
    assert answer.status == 200
    assert controller.in_flight == 0


async def test_a_freed_slot_goes_to_the_most_urgent_waiter() -> None:
    app, controller, mw = make(capacity=1)
    hold = app.gate("/hold")
    holder = asyncio.create_task(call(mw, http_scope("/hold", token="t")))
    await until(lambda: app.started == ["/hold"])

    # Arrive in the reverse order of their priority.
    anonymous = asyncio.create_task(call(mw, http_scope("/api/v1/timelines/public")))
    await until(lambda: controller.queued() == 1)
    reader = asyncio.create_task(call(mw, http_scope("/api/v1/timelines/home", token="t")))
    await until(lambda: controller.queued() == 2)
    poster = asyncio.create_task(call(mw, http_scope("/api/v1/statuses", "POST", token="t")))
    await until(lambda: controller.queued() == 3)
    assert app.started == ["/hold"]

    hold.set()
    answers = await asyncio.gather(holder, anonymous, reader, poster)
    assert [a.status for a in answers] == [200, 200, 200, 200]
    assert app.started == ["/hold", "/api/v1/statuses", "/api/v1/timelines/home", "/api/v1/timelines/public"]
    assert controller.in_flight == 0 and controller.queued() == 0


async def test_full_queue_sheds_at_once_with_503_and_retry_after() -> None:
    app, controller, mw = make(capacity=1, queue_limits=(10, 10, 1))
    hold = app.gate("/hold")
    holder = asyncio.create_task(call(mw, http_scope("/hold", token="t")))
    await until(lambda: app.started == ["/hold"])
    waiting = asyncio.create_task(call(mw, http_scope("/api/v1/directory")))
    await until(lambda: controller.queued(LAST) == 1)

    shed_scope = http_scope("/api/v1/directory", query="page=2")
    shed = await call(mw, shed_scope)  # returns while the slot is still held: no waiting for a timeout

    assert not hold.is_set()
    assert shed.status == 503
    assert shed.json() == {"error": BUSY_MESSAGE}
    assert shed.headers["content-type"] == "application/json"
    assert int(shed.headers["retry-after"]) >= 1
    assert shed.headers["connection"] == "close"
    assert request_info(shed_scope).shed is True
    assert request_info(shed_scope).shed_reason == "queue_full"
    assert (request_info(shed_scope).shed_state or "").startswith("in_flight=1/1 reads=1/1 queued=0/0/1 ")
    assert request_info(shed_scope).priority == LAST

    hold.set()
    assert (await waiting).status == 200
    await holder


async def test_only_an_answer_of_503_or_a_stale_copy_ends_the_calm() -> None:
    """A refused anonymous read with no copy to serve is let in to make one: the process refused nobody and
    stays calm, so the reads queued behind it are not given up on at their patience."""
    cache = StaleCache(ttl=5.0)
    app, controller, mw = make(capacity=1, queue_limits=(10, 10, 1), cache=cache)
    hold, directory = app.gate("/hold"), app.gate("/api/v1/directory")
    holder = asyncio.create_task(call(mw, http_scope("/hold", token="t")))
    await until(lambda: app.started == ["/hold"])
    waiting = [asyncio.create_task(call(mw, http_scope("/api/v1/directory")))]
    await until(lambda: controller.queued(LAST) == 1)

    renewing = await call(mw, http_scope("/api/v1/timelines/public"))  # queue full, no copy: it makes one
    assert renewing.status == 200 and "x-starling-stale" not in renewing.headers
    assert controller.calm()
    # Its slot went to the queued read; another fills the queue again.
    waiting.append(asyncio.create_task(call(mw, http_scope("/api/v1/directory", query="page=2"))))
    await until(lambda: controller.queued(LAST) == 1)
    stale = await call(mw, http_scope("/api/v1/timelines/public"))  # queue full, a copy: served stale
    assert stale.status == 200 and stale.headers.get("x-starling-stale") == "1"
    assert not controller.calm()
    hold.set()
    directory.set()
    assert [(await w).status for w in waiting] == [200, 200]
    await holder


async def test_a_full_low_priority_queue_does_not_refuse_urgent_requests() -> None:
    app, controller, mw = make(capacity=1, queue_limits=(10, 10, 0))
    hold = app.gate("/hold")
    holder = asyncio.create_task(call(mw, http_scope("/hold", token="t")))
    await until(lambda: app.started == ["/hold"])

    assert (await call(mw, http_scope("/api/v1/timelines/public"))).status == 503
    poster = asyncio.create_task(call(mw, http_scope("/api/v1/statuses", "POST", token="t")))
    await until(lambda: controller.queued(FIRST) == 1)
    hold.set()
    assert (await poster).status == 200
    await holder


async def test_a_waiter_is_shed_when_its_deadline_passes() -> None:
    app, controller, mw = make(capacity=1, deadlines=(30.0, 30.0, 0.01), service_time=0.0001)
    hold = app.gate("/hold")
    holder = asyncio.create_task(call(mw, http_scope("/hold", token="t")))
    await until(lambda: app.started == ["/hold"])
    controller.refused()  # the process is refusing requests: overloaded, so patience runs out

    answer = await call(mw, http_scope("/api/v1/timelines/public"))

    assert answer.status == 503
    assert not hold.is_set()
    assert controller.queued() == 0
    hold.set()
    await holder
    assert controller.in_flight == 0


async def test_expected_wait_grows_with_the_queue_ahead() -> None:
    controller = AdmissionController(2, (100, 100, 100), (5.0, 1.0, 0.25), initial_service_time=0.1, warm_up=0)
    assert controller.expected_wait(LAST) == pytest.approx(0.05)
    for _ in range(5):
        controller.queues[LAST].append(asyncio.get_running_loop().create_future())
    # Six requests ahead of a new one, two at a time, 0.1 s each: 0.3 s > 0.25 s.
    assert controller.expected_wait(LAST) > controller.deadlines[LAST]
    assert controller.expected_wait(FIRST) < controller.deadlines[FIRST]


async def test_expected_wait_shedding_answers_without_waiting() -> None:
    app, controller, mw = make(capacity=1, deadlines=(30.0, 30.0, 0.01), service_time=1.0)
    hold = app.gate("/hold")
    holder = asyncio.create_task(call(mw, http_scope("/hold", token="t")))
    await until(lambda: app.started == ["/hold"])
    answer = await call(mw, http_scope("/api/v1/timelines/public"))
    assert answer.status == 503
    assert controller.queued() == 0
    hold.set()
    await holder


async def test_health_and_metrics_bypass_admission() -> None:
    app, _controller, mw = make(capacity=1, queue_limits=(0, 0, 0))
    hold = app.gate("/hold")
    holder = asyncio.create_task(call(mw, http_scope("/hold", token="t")))
    await until(lambda: app.started == ["/hold"])
    for path in ("/health/live", "/health/ready", "/metrics"):
        assert (await call(mw, http_scope(path))).status == 200
    hold.set()
    await holder


async def test_streaming_holds_a_slot_only_for_its_handshake() -> None:
    app, controller, mw = make(capacity=1, queue_limits=(0, 0, 0))
    app.stream_after_start.add("/api/v1/streaming/user")
    stream_open = app.gate("/api/v1/streaming/user")
    stream = asyncio.create_task(call(mw, http_scope("/api/v1/streaming/user", token="t")))
    await until(lambda: "/api/v1/streaming/user" in app.started)
    await until(lambda: controller.in_flight == 0)

    # The connection is still open, yet the only slot is free for others.
    assert (await call(mw, http_scope("/api/v1/timelines/home", token="t"))).status == 200
    stream_open.set()
    assert (await stream).status == 200
    assert controller.in_flight == 0


async def test_a_websocket_handshake_is_refused_with_try_again_later() -> None:
    app, _controller, mw = make(capacity=1, queue_limits=(0, 0, 0))
    hold = app.gate("/hold")
    holder = asyncio.create_task(call(mw, http_scope("/hold", token="t")))
    await until(lambda: app.started == ["/hold"])
    scope = http_scope("/api/v1/streaming", token="t")
    scope["type"] = "websocket"
    answer = await call(mw, scope)
    assert answer.messages[0]["type"] == "websocket.close"
    assert answer.messages[0]["code"] == 1013
    hold.set()
    await holder


async def test_a_cancelled_waiter_leaves_the_queue_and_the_slots_intact() -> None:
    app, controller, mw = make(capacity=1)
    hold = app.gate("/hold")
    holder = asyncio.create_task(call(mw, http_scope("/hold", token="t")))
    await until(lambda: app.started == ["/hold"])
    waiter = asyncio.create_task(call(mw, http_scope("/api/v1/timelines/home", token="t")))
    await until(lambda: controller.queued() == 1)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert controller.queued() == 0
    hold.set()
    await holder
    assert controller.in_flight == 0
    assert (await call(mw, http_scope("/api/v1/timelines/home", token="t"))).status == 200


async def test_the_slot_is_free_once_the_answer_is_sent() -> None:
    """A client that has its answer sends its next request at once: the handler still unwinding (a write
    coming back from the write lane) must not hold the slot, or 8 clients look like 9 requests at once."""
    unwound = asyncio.Event()

    async def answers_then_unwinds(scope: object, receive: object, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"part", "more_body": True})
        assert controller.in_flight == 1  # not the last part yet
        await send({"type": "http.response.body", "body": b"end"})
        await unwound.wait()

    controller = AdmissionController(1, (10, 10, 10), LONG, warm_up=0)
    mw = AdmissionMiddleware(answers_then_unwinds, controller=controller)  # type: ignore[arg-type]
    first = asyncio.create_task(call(mw, http_scope("/api/v1/timelines/home", token="t")))
    await until(lambda: controller.completed == 1)
    assert controller.in_flight == 0 and not first.done()
    second = asyncio.create_task(call(mw, http_scope("/api/v1/timelines/home", token="t")))
    await until(lambda: controller.completed == 2)
    assert controller.queued() == 0  # it found the slot free
    unwound.set()
    assert [(await t).status for t in (first, second)] == [200, 200]
    assert controller.in_flight == 0  # released once each


async def test_slot_is_released_when_the_handler_fails() -> None:
    controller = AdmissionController(1, (1, 1, 1), LONG, warm_up=0)

    async def broken(scope: object, receive: object, send: object) -> None:
        raise RuntimeError("boom")

    mw = AdmissionMiddleware(broken, controller=controller)
    with pytest.raises(RuntimeError):
        await call(mw, http_scope("/api/v1/timelines/home", token="t"))
    assert controller.in_flight == 0
