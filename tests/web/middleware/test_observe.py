from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from starling.adapters.ratelimit_store import LocalCounterStore
from starling.bootstrap import Container
from starling.config import Settings
from starling.web.app import create_app
from starling.web.middleware.context import request_info
from starling.web.middleware.logs import ACCESS_FIELDS, JsonFormatter, configure_logging
from starling.web.middleware.observe import ObserveMiddleware
from starling.web.middleware.ratelimit import RateLimitMiddleware
from tests.conftest import BASE_URL, MakeActor
from tests.web.middleware.asgi import DummyApp, call, http_scope


async def test_a_plain_incoming_request_id_is_kept_and_echoed(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/instance", headers={"X-Request-Id": "edge-42.a"})
    assert r.headers["x-request-id"] == "edge-42.a"


async def test_a_request_id_is_made_when_missing_or_unsafe(client: httpx.AsyncClient) -> None:
    made = (await client.get("/api/v1/instance")).headers["x-request-id"]
    assert len(made) == 32 and int(made, 16) >= 0
    unsafe = (await client.get("/api/v1/instance", headers={"X-Request-Id": "a b\"<script>"})).headers["x-request-id"]
    assert len(unsafe) == 32 and unsafe != made


async def test_errors_carry_the_request_id_too(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/statuses/1")
    assert r.status_code == 404
    assert r.headers["x-request-id"]


async def test_one_json_access_line_per_request(
    client: httpx.AsyncClient, make_actor: MakeActor, caplog: pytest.LogCaptureFixture
) -> None:
    alice = await make_actor("alice")
    caplog.set_level(logging.INFO, logger="starling.access")
    r = await client.get("/api/v1/statuses/99", headers={**alice.headers, "X-Request-Id": "rid-1"})
    assert r.status_code == 404

    records = [rec for rec in caplog.records if rec.name == "starling.access"]
    assert len(records) == 1
    line = JsonFormatter().format(records[0])
    assert "\n" not in line
    entry = json.loads(line)
    for field in ("time", "level", "message", *ACCESS_FIELDS):
        assert field in entry, field
    assert entry["method"] == "GET"
    assert entry["route"] == "/api/v1/statuses/{status_id}"
    assert entry["path"] == "/api/v1/statuses/99"
    assert entry["status"] == 404
    assert entry["request_id"] == "rid-1"
    assert entry["priority"] == 1
    assert entry["shed"] is False and entry["ratelimited"] is False and entry["stale"] is False
    assert isinstance(entry["duration_ms"], float)


async def test_the_access_line_names_the_account_when_it_was_counted(
    make_actor: MakeActor, caplog: pytest.LogCaptureFixture, container: Container
) -> None:
    alice = await make_actor("alice")
    app = create_app(container.settings.model_copy(update={"rate_limit_loopback_exempt": False}), container=container)
    caplog.set_level(logging.INFO, logger="starling.access")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as c:
        assert (await c.get("/api/v1/timelines/home", headers=alice.headers)).status_code == 200
    entry = json.loads(JsonFormatter().format(next(r for r in caplog.records if r.name == "starling.access")))
    assert entry["account_id"] == int(alice.id)


async def test_rate_limited_requests_are_logged_as_such(caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings(rate_limit_requests=1)
    mw = ObserveMiddleware(RateLimitMiddleware(DummyApp(), settings=settings, store=LocalCounterStore()))
    caplog.set_level(logging.INFO, logger="starling.access")
    await call(mw, http_scope("/api/v1/instance"))
    answer = await call(mw, http_scope("/api/v1/instance"))
    assert answer.status == 429
    last = json.loads(JsonFormatter().format([r for r in caplog.records if r.name == "starling.access"][-1]))
    assert last["ratelimited"] is True and last["status"] == 429
    assert last["route"] == "<ratelimited>"  # answered before any route was matched


async def test_a_shed_request_is_logged_with_the_reason(caplog: pytest.LogCaptureFixture) -> None:
    async def shedding(scope: Scope, receive: Receive, send: Send) -> None:
        info = request_info(scope)
        info.shed, info.shed_reason, info.shed_state = True, "late", "in_flight=4/4 queued=0/2/0"
        await send({"type": "http.response.start", "status": 503, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    caplog.set_level(logging.INFO, logger="starling.access")
    answer = await call(ObserveMiddleware(shedding), http_scope("/api/v1/timelines/public"))
    assert answer.status == 503
    record = [r for r in caplog.records if r.name == "starling.access"][-1]
    assert record.getMessage().endswith(" shed: late (in_flight=4/4 queued=0/2/0)")
    entry = json.loads(JsonFormatter().format(record))
    assert entry["shed"] is True and entry["shed_reason"] == "late" and entry["route"] == "<shed>"
    assert entry["shed_state"] == "in_flight=4/4 queued=0/2/0"


async def test_a_failing_handler_is_logged_as_500_and_the_error_goes_on() -> None:
    async def broken(scope: object, receive: object, send: object) -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await call(ObserveMiddleware(broken), http_scope("/x"))


def test_json_formatter_adds_extra_fields_and_exceptions() -> None:
    logger = logging.getLogger("starling.test_logs")
    record = logger.makeRecord("starling.test_logs", logging.ERROR, __file__, 1, "failed %s", ("x",), None,
                               extra={"job_id": 7})
    try:
        raise ValueError("bad")
    except ValueError:
        record.exc_info = sys.exc_info()
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "failed x"
    assert entry["level"] == "error"
    assert entry["job_id"] == 7
    assert "ValueError: bad" in entry["exception"]


@pytest.fixture
def restore_logging() -> Iterator[None]:
    names = ("starling", "uvicorn", "uvicorn.error", "gunicorn.error", "uvicorn.access")
    saved = {n: (list(logging.getLogger(n).handlers), logging.getLogger(n).propagate, logging.getLogger(n).level)
             for n in names}
    yield
    for n, (handlers, propagate, level) in saved.items():
        logger = logging.getLogger(n)
        logger.handlers[:] = handlers
        logger.propagate = propagate
        logger.setLevel(level)


def test_configure_logging_installs_one_json_handler(restore_logging: None) -> None:
    settings = Settings(log_format="json")
    configure_logging(settings)
    configure_logging(settings)
    handlers = logging.getLogger("starling").handlers
    assert len(handlers) == 1
    assert isinstance(handlers[0].formatter, JsonFormatter)
    stream = io.StringIO()
    assert isinstance(handlers[0], logging.StreamHandler)
    handlers[0].setStream(stream)
    logging.getLogger("starling.test_logs").info("hello", extra={"answer": 42})
    assert json.loads(stream.getvalue()) | {"time": None} == {
        "time": None, "level": "info", "logger": "starling.test_logs", "message": "hello", "answer": 42,
    }
    assert logging.getLogger("uvicorn.access").level == logging.WARNING
