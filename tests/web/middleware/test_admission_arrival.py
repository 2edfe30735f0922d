"""Admission counts a request's deadline from when it arrived, and learns how long requests take to reach it.

Decision logic only, on a fake clock: no test here waits for a deadline to pass.
"""

from __future__ import annotations

import asyncio

import pytest

from starling.web.middleware.admission import (
    ARRIVED_KEY,
    DOOR_MARGIN,
    OVERLOAD_REFUSALS,
    PATIENCE,
    WARM_UP,
    AdmissionController,
    AdmissionMiddleware,
)
from starling.web.middleware.classify import FIRST, LAST, NEXT
from starling.web.middleware.context import request_info
from tests.web.middleware.asgi import DummyApp, call, http_scope, until


class FakeClock:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


def overload(controller: AdmissionController) -> None:
    """Make the process overloaded: as many answers of 503 or a stale copy as that takes, at once."""
    for _ in range(int(OVERLOAD_REFUSALS)):
        controller.refused()
    assert controller.overloaded()


def busy(clock: FakeClock, *, service_time: float = 0.1) -> AdmissionController:
    """One slot, already taken."""
    controller = AdmissionController(1, (10, 10, 10), (5.0, 0.6, 0.05), initial_service_time=service_time,
                                     clock=clock, warm_up=0)
    controller.in_flight = 1
    return controller


async def test_a_request_that_arrived_before_its_deadline_is_refused_as_late() -> None:
    clock = FakeClock()
    controller = busy(clock)
    decision = await controller.acquire(NEXT, arrived=clock.now - 0.7)
    assert (decision.admitted, decision.reason) == (False, "late")
    assert controller.queued() == 0


async def test_what_is_left_of_the_deadline_decides_the_expected_wait() -> None:
    clock = FakeClock()
    controller = busy(clock, service_time=0.25)
    # Expected wait 0.25 s: fine for a request that just arrived (0.6 s left) ...
    fresh = asyncio.create_task(controller.acquire(NEXT, arrived=clock.now))
    await until(lambda: controller.queued(NEXT) == 1)
    # ... not for one that arrived 0.4 s ago (0.2 s left), behind it (two rounds of the one slot: 0.5 s).
    old = await controller.acquire(NEXT, arrived=clock.now - 0.4)
    assert (old.admitted, old.reason) == (False, "expected_wait")
    fresh.cancel()
    with pytest.raises(asyncio.CancelledError):
        await fresh


async def test_posting_is_not_refused_on_an_estimate() -> None:
    clock = FakeClock()
    controller = busy(clock, service_time=60.0)
    waiting = asyncio.create_task(controller.acquire(FIRST, arrived=clock.now - 1.0))
    await until(lambda: controller.queued(FIRST) == 1)
    controller.release(None, FIRST)
    decision = await waiting
    assert decision.admitted
    assert controller.in_flight == 1


async def test_a_free_slot_serves_even_a_late_request() -> None:
    clock = FakeClock()
    controller = AdmissionController(1, (10, 10, 10), (5.0, 0.6, 0.05), clock=clock, warm_up=0)
    decision = await controller.acquire(LAST, arrived=clock.now - 30)
    assert decision.admitted


def test_the_entry_delay_is_a_peak_that_wears_off() -> None:
    clock = FakeClock()
    controller = AdmissionController(1, (10, 10, 10), (5.0, 0.6, 0.05), clock=clock, warm_up=0)
    controller.note_entry(0.2)
    controller.note_entry(0.05)
    assert controller.current_entry_delay() == pytest.approx(0.2)
    clock.now += 0.15
    assert controller.current_entry_delay() == pytest.approx(0.05)
    clock.now += 1.0
    assert controller.current_entry_delay() == 0.0


async def test_acquire_records_how_long_the_request_took_to_arrive() -> None:
    clock = FakeClock()
    controller = AdmissionController(2, (10, 10, 10), (5.0, 0.6, 0.05), clock=clock, warm_up=0)
    assert (await controller.acquire(NEXT, arrived=clock.now - 0.12)).admitted
    assert controller.current_entry_delay() == pytest.approx(0.12)


def test_the_door_counts_the_entry_delay_and_refuses_early() -> None:
    clock = FakeClock()
    controller = AdmissionController(4, (10, 10, 10), (5.0, 0.6, 0.05), initial_service_time=0.1, clock=clock,
                                     warm_up=0)
    assert controller.door_verdict(NEXT, 0) == ""
    # The event loop has been taking 0.35 s to bring requests in. With a slot free, a request still comes in.
    controller.note_entry(0.35)
    assert controller.door_verdict(NEXT, 0) == ""
    # All four slots taken and four reads waiting: 0.35 s + 0.125 s of queue is more than the door's share
    # (DOOR_MARGIN) of a signed-in read's 0.6 s, so the door refuses it; a post may still come in.
    controller.in_flight = 4
    controller.queues[NEXT].extend(object() for _ in range(4))  # type: ignore[misc]
    assert 0.35 + 0.125 > DOOR_MARGIN * 0.6
    assert controller.door_verdict(NEXT, 0) == "expected_wait"
    assert controller.door_verdict(FIRST, 0) == ""
    clock.now += 0.35  # the measured delay wears off
    assert controller.door_verdict(NEXT, 0) == ""
    # A full queue refuses whatever the estimate.
    controller.queue_limits = (10, 0, 10)
    assert controller.door_verdict(NEXT, 0) == "queue_full"


async def test_the_middleware_takes_the_arrival_time_from_the_scope() -> None:
    app = DummyApp()
    controller = AdmissionController(1, (10, 10, 10), (5.0, 0.6, 0.05), warm_up=0)
    mw = AdmissionMiddleware(app, controller=controller)
    hold = app.gate("/hold")
    holder = asyncio.create_task(call(mw, http_scope("/hold", token="t")))
    await until(lambda: app.started == ["/hold"])

    scope = http_scope("/api/v1/timelines/home", token="t")
    scope[ARRIVED_KEY] = controller.clock() - 1.0  # waited a second before it got here
    answer = await call(mw, scope)
    assert answer.status == 503
    assert request_info(scope).shed
    assert not hold.is_set()
    hold.set()
    await holder


async def test_more_urgent_arrivals_lengthen_the_expected_wait() -> None:
    clock = FakeClock()
    controller = AdmissionController(2, (10, 10, 10), (5.0, 1.0, 0.25), initial_service_time=0.1, clock=clock,
                                     warm_up=0)
    # Two slots, 0.1 s each: 20 requests a second leave the queues.
    assert controller.expected_wait(NEXT) == pytest.approx(0.05)
    for _ in range(10):
        assert (await controller.acquire(FIRST)).admitted
        controller.release(None, FIRST)
    clock.now += 1.0
    assert (await controller.acquire(LAST)).admitted  # closes the one-second window
    controller.release(None, LAST)
    # Ten posts a second overtake a signed-in read: only 10 a second are left for it, and fewer for LAST.
    assert controller.arrival_rates[FIRST] == pytest.approx(10.0)
    assert controller.expected_wait(FIRST) == pytest.approx(0.05)
    assert controller.expected_wait(NEXT) == pytest.approx(0.1)
    controller.in_flight = 2
    assert controller.door_wait(NEXT, 1) == pytest.approx(0.2)


async def test_a_vetted_request_is_not_judged_again_on_arrival() -> None:
    clock = FakeClock()
    controller = busy(clock, service_time=0.25)
    # Arrived long ago and the wait is long: an unvetted request is refused at once ...
    refused = await controller.acquire(NEXT, arrived=clock.now - 5.0)
    assert (refused.admitted, refused.reason) == (False, "late")
    # ... one the accepting thread already let in waits for a slot instead.
    waiting = asyncio.create_task(controller.acquire(NEXT, arrived=clock.now - 5.0, vetted=True))
    await until(lambda: controller.queued(NEXT) == 1)
    controller.release(None, FIRST)
    assert (await waiting).admitted


async def test_a_queued_request_is_served_after_its_deadline_until_its_patience_runs_out() -> None:
    clock = FakeClock()
    controller = AdmissionController(1, (10, 10, 10), (5.0, 5.0, 30.0), clock=clock, warm_up=0)
    assert (await controller.acquire(NEXT)).admitted  # the only slot
    # Arrived 40 s ago: past its 30 s deadline, within its patience (PATIENCE x 30 s): it waits for a slot.
    served = asyncio.create_task(controller.acquire(LAST, arrived=clock.now - 40.0, vetted=True))
    await until(lambda: controller.queued(LAST) == 1)
    controller.release(None, NEXT)
    assert (await served).admitted
    # Arrived past its patience, while the process refuses requests (it is overloaded): shed at once.
    controller.refused()
    late = await controller.acquire(LAST, arrived=clock.now - PATIENCE * 30.0 - 1.0, vetted=True)
    assert (late.admitted, late.reason) == (False, "deadline")


async def test_a_calm_process_keeps_a_waiter_past_its_patience() -> None:
    """Nothing refused lately: the process is slow for a moment (new workers starting), not overloaded, and a
    request given up on would fail for nobody's gain. It waits for the next free slot."""
    clock = FakeClock()
    controller = AdmissionController(1, (10, 10, 10), (5.0, 5.0, 0.01), clock=clock, warm_up=0)
    assert controller.calm()
    assert (await controller.acquire(NEXT)).admitted  # the only slot
    waiting = asyncio.create_task(controller.acquire(LAST, arrived=clock.now - PATIENCE * 0.01 - 1.0, vetted=True))
    await until(lambda: controller.queued(LAST) == 1)
    await asyncio.sleep(0.05)  # several of its 10 ms waits have passed
    assert not waiting.done() and controller.queued(LAST) == 1
    controller.release(None, NEXT)
    assert (await waiting).admitted
    # A verdict alone is no refusal (the caller may still let the request in) ...
    refused = await controller.acquire(LAST, arrived=clock.now - 1.0)  # no slot, and its 10 ms are long gone
    assert (refused.admitted, refused.reason) == (False, "late")
    assert controller.calm()
    # ... but the moment the process answers one with 503 or a stale copy, patience applies again
    controller.refused()
    assert not controller.calm()
    clock.now += 2.5  # ... until nothing has been refused for a while
    assert controller.calm()


async def test_a_calm_process_still_gives_up_in_the_end() -> None:
    clock = FakeClock()
    controller = AdmissionController(1, (10, 10, 10), (5.0, 5.0, 0.01), clock=clock, warm_up=0)
    assert (await controller.acquire(NEXT)).admitted
    waiting = asyncio.create_task(controller.acquire(LAST, vetted=True))
    await until(lambda: controller.queued(LAST) == 1)
    clock.now += 1.0  # far past CALM_LIMIT times its 10 ms deadline
    decision = await waiting
    assert (decision.admitted, decision.reason) == (False, "deadline")


async def test_a_vetted_request_is_queued_even_when_its_queue_filled_up_meanwhile() -> None:
    controller = AdmissionController(1, (10, 1, 1), (5.0, 5.0, 5.0), warm_up=0)
    assert (await controller.acquire(NEXT)).admitted  # the only slot
    first = asyncio.create_task(controller.acquire(NEXT))
    await until(lambda: controller.queued(NEXT) == 1)  # the queue (limit 1) is full
    refused = await controller.acquire(NEXT)
    assert (refused.admitted, refused.reason) == (False, "queue_full")
    vetted = asyncio.create_task(controller.acquire(NEXT, vetted=True))
    await until(lambda: controller.queued(NEXT) == 2)
    controller.release(None, NEXT)
    controller.release(None, NEXT)
    assert (await first).admitted and (await vetted).admitted


def test_nothing_is_refused_on_an_estimate_behind_a_short_queue() -> None:
    clock = FakeClock()
    controller = AdmissionController(2, (10, 10, 10), (5.0, 0.5, 0.25), initial_service_time=5.0, clock=clock,
                                     warm_up=0)
    controller.in_flight = 2
    controller.note_entry(3.0)  # a reload is starting new workers: everything looks slow
    # Two waiting (one round of the two slots): the estimate says far too long, but the queue is short.
    controller.queues[NEXT].extend(object() for _ in range(1))  # type: ignore[misc]
    assert controller.short_queue(NEXT)
    assert controller.door_verdict(NEXT, 0) == ""
    controller.queues[NEXT].append(object())  # type: ignore[arg-type]
    assert not controller.short_queue(NEXT)
    assert controller.door_verdict(NEXT, 0) == "expected_wait"
    # While it is overloaded, a short queue is no reason to let in what the estimate refuses.
    controller.queues[NEXT].pop()
    assert controller.door_verdict(NEXT, 0) == ""
    overload(controller)
    assert not controller.short_queue(NEXT)
    assert controller.door_verdict(NEXT, 0) == "expected_wait"


def test_a_new_process_refuses_only_on_a_full_queue_until_its_timings_mean_something() -> None:
    """A new worker's first requests are slow and arrive all at once (a reload moves every client to it):
    estimates made of them would refuse a load the worker serves a moment later."""
    clock = FakeClock()
    controller = AdmissionController(1, (10, 10, 3), (5.0, 0.5, 0.25), initial_service_time=5.0, clock=clock)
    controller.in_flight = 1
    controller.note_entry(3.0)  # and its event loop is slow to bring requests in
    for _ in range(2):
        controller.queues[LAST].append(object())  # type: ignore[arg-type]
    assert not controller.warm
    assert controller.door_verdict(LAST, 10) == ""
    controller.queues[LAST].append(object())  # type: ignore[arg-type]
    assert controller.door_verdict(LAST, 0) == "queue_full"
    controller.queues[LAST].pop()
    spare = AdmissionController(1, (10, 10, 10), (5.0, 0.5, 0.25), clock=clock)
    spare.in_flight = WARM_UP
    for _ in range(WARM_UP):
        spare.release(0.01, FIRST)
    assert spare.completed == WARM_UP and spare.warm
    controller.completed = spare.completed
    assert controller.door_verdict(LAST, 10) == "expected_wait"


async def test_an_overloaded_process_gives_reads_half_the_slots_and_keeps_the_rest_for_posts() -> None:
    clock = FakeClock()
    controller = AdmissionController(4, (10, 10, 10), (5.0, 5.0, 5.0), clock=clock, warm_up=0)
    assert controller.calm() and controller.slots_for(NEXT) == 4
    overload(controller)
    assert controller.slots_for(NEXT) == controller.slots_for(LAST) == 2 and controller.slots_for(FIRST) == 4
    assert (await controller.acquire(NEXT)).admitted
    assert (await controller.acquire(LAST)).admitted
    # Two slots free, but not for a third read: it queues ...
    third = asyncio.create_task(controller.acquire(NEXT, vetted=True))
    await until(lambda: controller.queued(NEXT) == 1)
    assert controller.free_for(NEXT) == 0 and controller.free_for(FIRST) == 2
    # ... while posts come in at once, past the queued read.
    assert (await controller.acquire(FIRST)).admitted
    assert (await controller.acquire(FIRST)).admitted
    assert controller.in_flight == 4 and controller.reads_in_flight == 2
    # A post's slot freed does not go to the read (reads still hold their share) ...
    controller.release(0.01, FIRST)
    assert not third.done() and controller.in_flight == 3
    # ... a read's does.
    controller.release(0.01, LAST)
    assert (await third).admitted
    assert controller.in_flight == 3 and controller.reads_in_flight == 2


async def test_a_process_no_longer_overloaded_lets_reads_take_every_slot_again() -> None:
    clock = FakeClock()
    controller = AdmissionController(4, (10, 10, 10), (5.0, 5.0, 5.0), clock=clock, warm_up=0)
    overload(controller)
    for _ in range(2):
        assert (await controller.acquire(NEXT)).admitted
    queued = [asyncio.create_task(controller.acquire(NEXT, vetted=True)) for _ in range(3)]
    await until(lambda: controller.queued(NEXT) == 3)
    clock.now += 1.5  # a second and more with no refusal: not overloaded any more
    assert not controller.overloaded() and controller.slots_for(NEXT) == 4
    controller.release(0.01, NEXT)  # the next freed slot wakes every read that now has room
    for task in queued:
        assert (await task).admitted
    assert controller.in_flight == controller.reads_in_flight == 4


def test_while_overloaded_a_read_is_refused_at_the_door_when_the_reads_share_is_taken() -> None:
    clock = FakeClock()
    controller = AdmissionController(4, (10, 10, 10), (5.0, 0.5, 0.0), initial_service_time=0.1, clock=clock,
                                     warm_up=0)
    controller.in_flight, controller.reads_in_flight = 2, 2
    assert controller.door_verdict(LAST, 0) == ""  # not overloaded: two slots free for it
    overload(controller)
    assert controller.door_verdict(LAST, 0) == "expected_wait"  # overloaded: the reads' two are taken
    assert controller.door_verdict(FIRST, 0) == ""


def test_a_few_refusals_are_no_overload_a_sustained_rate_is() -> None:
    """A reload's fresh workers serve a stale copy or two while their first answers are slow: cutting the
    reads' slots for that refused reads a moment later (drill 1 on PostgreSQL). Only a sustained rate of
    refusals is an overload, and it ends within a second of the refusals stopping."""
    clock = FakeClock()
    controller = AdmissionController(4, (10, 10, 10), (5.0, 5.0, 5.0), clock=clock, warm_up=0)
    for _ in range(5):
        controller.refused()
        clock.now += 0.1
    assert not controller.calm() and not controller.overloaded() and controller.slots_for(NEXT) == 4
    clock.now += 1.0
    for _ in range(3):  # 40 a second for three seconds
        for _ in range(40):
            controller.refused()
            clock.now += 1 / 40
        assert controller.overloaded()
    clock.now += 0.5  # half a second after the last, it still is ...
    assert controller.overloaded()
    clock.now += 1.0  # ... not a second later
    assert not controller.overloaded()
    controller.refused()  # a lone refusal after a quiet spell starts a new count
    assert not controller.overloaded()
