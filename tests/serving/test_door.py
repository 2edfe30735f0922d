"""The accepting thread: it reads request heads, refuses at once what admission would refuse anyway, and
hands everything else to the event loop with the time it was accepted."""

from __future__ import annotations

import logging
import queue
import socket
import time
from collections.abc import Callable, Iterator

import pytest

from starling.serving.door import REFUSAL_LOG_EVERY, Door, DoorCounts, decide, parse_head
from starling.web.middleware.admission import AdmissionController
from starling.web.middleware.classify import FIRST, LAST, NEXT
from starling.web.middleware.stale_cache import StaleCache


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def full_controller(clock: FakeClock, *, queued: int = 1) -> AdmissionController:
    """One slot, taken; ``queued`` waiters of the last priority (one by default: behind a queue no longer
    than the slots, nothing is refused on an estimate); 0.1 s per request. The door refuses a signed-in read
    expected to wait more than 0.3 s (a share of its 1 s deadline), an anonymous one at 15 ms."""
    controller = AdmissionController(1, (10, 10, 10), (5.0, 1.0, 0.05), initial_service_time=0.1, clock=clock,
                                     warm_up=0)
    controller.in_flight = 1
    for _ in range(queued):
        controller.queues[LAST].append(object())  # type: ignore[arg-type]
    return controller


def head(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode()


PUBLIC = head("GET /api/v1/timelines/public?limit=20 HTTP/1.1\nHost: x\n\n")
HOME = head("GET /api/v1/timelines/home HTTP/1.1\nHost: x\nAuthorization: Bearer abc\n\n")
POST = head("POST /api/v1/statuses HTTP/1.1\nHost: x\nAuthorization: Bearer abc\nContent-Length: 2\n\n{}")


def test_parse_head_reads_the_request_line_and_headers() -> None:
    parsed = parse_head(HOME)
    assert parsed is not None
    assert (parsed.method, parsed.path, parsed.query) == ("GET", "/api/v1/timelines/home", "")
    assert (b"authorization", b"Bearer abc") in parsed.headers
    assert parsed.size == len(HOME)
    assert not parsed.has_body
    post = parse_head(POST)
    assert post is not None and post.has_body and post.size == len(POST) - 2
    escaped = parse_head(head("GET /tags/caf%C3%A9?x=1 HTTP/1.1\n\n"))
    assert escaped is not None and escaped.path == "/tags/café" and escaped.query == "x=1"


@pytest.mark.parametrize("data", [b"GET / HTTP/1.1\r\nHost: x\r\n", b"NONSENSE\r\n\r\n", b"GET x HTTP/1.1\r\n\r\n"])
def test_parse_head_gives_up_on_incomplete_or_strange_heads(data: bytes) -> None:
    assert parse_head(data) is None


def test_a_free_slot_lets_everything_in() -> None:
    clock = FakeClock()
    controller = AdmissionController(2, (10, 10, 10), (5.0, 1.0, 0.05), initial_service_time=0.1, clock=clock,
                                     warm_up=0)
    for data in (PUBLIC, HOME, POST):
        assert decide(parse_head(data), controller, 0).answer is None


def test_a_read_that_would_wait_past_its_deadline_is_refused_at_the_door() -> None:
    clock = FakeClock()
    # One slot busy, one read waiting, 0.1 s per request: the next anonymous read would wait 0.2 s > 0.05 s.
    verdict = decide(parse_head(PUBLIC), full_controller(clock), 0)
    assert verdict.answer is not None
    assert verdict.answer.startswith(b"HTTP/1.1 503 ")
    assert b"retry-after: 1\r\n" in verdict.answer and b"connection: close\r\n" in verdict.answer
    assert verdict.answer.endswith(b'{"error":"The server is busy, try again shortly"}')
    assert (verdict.priority, verdict.reason, verdict.stale) == (LAST, "expected_wait", False)
    # A signed-in read may be expected to wait 0.3 s: one request ahead is fine, three are not.
    assert decide(parse_head(HOME), full_controller(clock), 0).answer is None
    assert decide(parse_head(HOME), full_controller(clock), 3).priority == NEXT
    assert decide(parse_head(HOME), full_controller(clock), 3).answer is not None


def test_requests_already_inside_count_as_ahead() -> None:
    clock = FakeClock()
    controller = AdmissionController(4, (10, 10, 10), (5.0, 1.0, 0.05), initial_service_time=0.1, clock=clock,
                                     warm_up=0)
    # Four free slots; four connections handed in but not yet admitted take them all.
    assert decide(parse_head(HOME), controller, 3).answer is None
    assert controller.door_wait(NEXT, 4) == pytest.approx(0.025)
    assert controller.door_wait(NEXT, 16) == pytest.approx(0.325)
    assert decide(parse_head(HOME), controller, 16).answer is not None


def test_writes_and_probes_always_go_in() -> None:
    clock = FakeClock()
    controller = full_controller(clock, queued=5)
    controller.service_time = 60.0
    post = decide(parse_head(POST), controller, 100)
    assert post.answer is None and post.priority == FIRST  # it has a body: admission decides inside
    assert decide(parse_head(head("GET /health/ready HTTP/1.1\n\n")), controller, 100).answer is None
    assert decide(parse_head(head("GET /metrics HTTP/1.1\n\n")), controller, 100).answer is None
    assert decide(None, controller, 100).answer is None
    assert decide(parse_head(PUBLIC), None, 100).answer is None


def test_an_anonymous_read_is_answered_from_the_stale_cache() -> None:
    clock = FakeClock()
    cache = StaleCache(ttl=5.0, clock=clock)
    cache.put("/api/v1/timelines/public?limit=20", 200,
              [(b"content-type", b"application/json"), (b"content-length", b"2"), (b"set-cookie", b"x")], b"[]")
    controller = full_controller(clock)
    controller.stale_cache = cache
    clock.now += 3
    verdict = decide(parse_head(PUBLIC), controller, 0, clock=clock)
    assert verdict.stale and verdict.answer is not None
    assert verdict.answer.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"x-starling-stale: 1\r\n" in verdict.answer and b"age: 3\r\n" in verdict.answer
    assert b"set-cookie" not in verdict.answer
    assert verdict.answer.endswith(b"\r\n\r\n[]")
    # Another URL has no copy: 503.
    other = decide(parse_head(head("GET /api/v1/timelines/public?limit=5 HTTP/1.1\n\n")), controller, 0, clock=clock)
    assert other.answer is not None and other.answer.startswith(b"HTTP/1.1 503 ")
    # Unless the request (known by its address) is let in to renew that copy: one at a time.
    first = decide(parse_head(head("GET /api/v1/timelines/public?limit=5 HTTP/1.1\n\n")), controller, 0,
                   clock=clock, client=("192.0.2.1", 1000))
    assert first.answer is None and first.vetted
    assert cache.renewing("/api/v1/timelines/public?limit=5", ("192.0.2.1", 1000))
    second = decide(parse_head(PUBLIC), controller, 0, clock=clock, client=("192.0.2.2", 1000))
    assert second.stale
    # Too old a copy is not used.
    clock.now += 10
    assert not decide(parse_head(PUBLIC), controller, 0, clock=clock).stale


def test_only_answering_at_the_door_counts_as_a_refusal() -> None:
    """A write, or a read let in to renew a copy, goes in whatever the verdict: the process stays calm."""
    clock = FakeClock()
    controller = full_controller(clock)
    controller.stale_cache = StaleCache(ttl=5.0, clock=clock)
    post = decide(parse_head(POST), controller, 0, clock=clock)
    assert post.answer is None
    renew = decide(parse_head(PUBLIC), controller, 0, clock=clock, client=("192.0.2.1", 1000))
    assert renew.answer is None and renew.vetted
    assert controller.calm()
    refused = decide(parse_head(HOME), controller, 5, clock=clock)
    assert refused.answer is not None and refused.answer.startswith(b"HTTP/1.1 503 ")
    assert not controller.calm()


# ---------------------------------------------------------------- the thread, on real sockets


@pytest.fixture
def listening() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    yield sock
    sock.close()


def _request(port: int, data: bytes) -> socket.socket:
    client = socket.create_connection(("127.0.0.1", port), timeout=30)
    client.sendall(data)
    return client


def _read_all(client: socket.socket) -> bytes:
    chunks = []
    while chunk := client.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def test_the_thread_refuses_with_503_and_hands_over_the_rest(listening: socket.socket) -> None:
    clock = FakeClock()
    controller = full_controller(clock)
    handed: queue.Queue[tuple[socket.socket, float, bool]] = queue.Queue()
    counts = DoorCounts()

    def hand_over(batch: list[tuple[socket.socket, float, bool]]) -> None:
        for item in batch:
            handed.put(item)

    door = Door(listening, hand_over, lambda: controller, counts=counts, clock=clock, head_wait=60.0)
    door.start()
    try:
        refused = _request(listening.getsockname()[1], PUBLIC)
        answer = _read_all(refused)  # the door closes the connection after its answer: no reset
        assert answer.startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
        refused.close()

        admitted = _request(listening.getsockname()[1], HOME)
        conn, accepted_at, vetted = handed.get(timeout=30)
        assert accepted_at == clock.now
        assert vetted  # judged and let in: admission does not judge it again
        assert counts.handed == 1 and counts.pending == 1
        # The head is still unread, for uvicorn to parse.
        conn.setblocking(True)
        assert conn.recv(65536) == HOME
        conn.close()
        admitted.close()
    finally:
        door.stop()
    assert not door.running


def _wait_for(condition: Callable[[], bool]) -> None:
    for _ in range(3000):
        if condition():
            return
        time.sleep(0.01)
    raise AssertionError("condition not met")


def test_the_door_waits_for_a_head_that_comes_after_the_connection(listening: socket.socket) -> None:
    clock = FakeClock()
    controller = full_controller(clock)
    handed: queue.Queue[tuple[socket.socket, float, bool]] = queue.Queue()
    door = Door(listening, lambda batch: [handed.put(i) for i in batch] and None, lambda: controller,
                counts=DoorCounts(), clock=clock, head_wait=60.0)
    door.start()
    try:
        client = socket.create_connection(listening.getsockname(), timeout=30)
        _wait_for(lambda: len(door._waiting) == 1)
        client.sendall(PUBLIC)
        assert _read_all(client).startswith(b"HTTP/1.1 503 ")
        client.close()

        # Part of a head only: it goes in, and uvicorn waits for the rest.
        partial = socket.create_connection(listening.getsockname(), timeout=30)
        partial.sendall(HOME[:10])
        conn, _, vetted = handed.get(timeout=30)
        assert not vetted  # not judged: admission decides as for any request
        conn.close()
        partial.close()
        assert handed.empty()
    finally:
        door.stop()


def test_refusals_at_the_door_are_logged_once_per_interval_with_counts(
    listening: socket.socket, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    door = Door(listening, lambda batch: None, lambda: None, clock=clock)
    caplog.set_level(logging.INFO, logger="starling.serving")
    public = ("GET", "/api/v1/timelines/public", "2", "expected_wait")
    home = ("GET", "/api/v1/timelines/home", "1", "queue_full")
    door._note_refusal(public)  # the first: at once
    clock.now += 0.5
    door._note_refusal(public)
    door._note_refusal(home)
    lines = [r.getMessage() for r in caplog.records if r.name == "starling.serving"]
    assert lines == ["refused at the door with 503: 1 × GET /api/v1/timelines/public priority 2 expected_wait"]
    clock.now += REFUSAL_LOG_EVERY
    door._note_refusal(home)
    lines = [r.getMessage() for r in caplog.records if r.name == "starling.serving"]
    assert lines[1:] == ["refused at the door with 503: 2 × GET /api/v1/timelines/home priority 1 queue_full, "
                         "1 × GET /api/v1/timelines/public priority 2 expected_wait"]
