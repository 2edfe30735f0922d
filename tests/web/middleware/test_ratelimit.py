from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from starlette.types import Scope

from starling.adapters.ratelimit_store import LocalCounterStore, RedisCounterStore
from starling.bootstrap import Container
from starling.config import Settings
from starling.domain.tokens import hash_token
from starling.web.app import create_app
from starling.web.middleware.context import request_info
from starling.web.middleware.ratelimit import RateLimitMiddleware, iso_time
from tests.conftest import BASE_URL, MakeActor
from tests.web.middleware.asgi import DummyApp, call, http_scope

NOW = 1_699_999_900.0  # 100 s into a 300-second window


class FakeClock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def limited(
    requests: int = 3, *, accounts: dict[str, int] | None = None, loopback_exempt: bool = True
) -> tuple[DummyApp, RateLimitMiddleware, FakeClock]:
    clock = FakeClock()
    settings = Settings(
        rate_limit_requests=requests, rate_limit_period=300, rate_limit_loopback_exempt=loopback_exempt
    )
    known = {hash_token(token): account for token, account in (accounts or {}).items()}

    async def resolve(_scope: Scope, token_hash: str) -> int | None:
        return known.get(token_hash)

    app = DummyApp()
    mw = RateLimitMiddleware(
        app, settings=settings, store=LocalCounterStore(clock=clock), resolve_account=resolve, clock=clock
    )
    return app, mw, clock


async def test_api_responses_carry_mastodon_rate_limit_headers() -> None:
    _app, mw, _clock = limited(3)
    answer = await call(mw, http_scope("/api/v1/instance"))
    assert answer.status == 200
    assert answer.headers["x-ratelimit-limit"] == "3"
    assert answer.headers["x-ratelimit-remaining"] == "2"
    reset = datetime.fromisoformat(answer.headers["x-ratelimit-reset"])
    assert reset == datetime.fromtimestamp(NOW - 100 + 300, tz=UTC)
    assert answer.headers["x-ratelimit-reset"].endswith("Z")


async def test_the_request_past_the_limit_gets_429_with_retry_after() -> None:
    app, mw, clock = limited(3)
    remaining = [(await call(mw, http_scope("/api/v1/instance"))).headers["x-ratelimit-remaining"] for _ in range(3)]
    assert remaining == ["2", "1", "0"]
    scope = http_scope("/api/v1/instance")
    refused = await call(mw, scope)
    assert refused.status == 429
    assert refused.json() == {"error": "Too many requests"}
    assert refused.headers["retry-after"] == "200"
    assert refused.headers["x-ratelimit-remaining"] == "0"
    assert request_info(scope).ratelimited is True
    assert len(app.started) == 3  # the refused request never reached the application

    clock.now += 200  # a new window
    assert (await call(mw, http_scope("/api/v1/instance"))).status == 200


async def test_anonymous_requests_count_per_ip_and_signed_in_ones_per_account() -> None:
    _app, mw, _clock = limited(2, accounts={"alice-1": 10, "alice-2": 10, "bob": 11})
    for _ in range(2):
        assert (await call(mw, http_scope("/api/v1/instance", client="198.51.100.1"))).status == 200
    assert (await call(mw, http_scope("/api/v1/instance", client="198.51.100.1"))).status == 429
    assert (await call(mw, http_scope("/api/v1/instance", client="198.51.100.2"))).status == 200

    # Same IP, but a user's token: the account's own budget, shared by all its tokens.
    scope = http_scope("/api/v1/timelines/home", token="alice-1", client="198.51.100.1")
    assert (await call(mw, scope)).status == 200
    assert request_info(scope).account_id == 10
    assert (await call(mw, http_scope("/api/v1/timelines/home", token="alice-2", client="198.51.100.9"))).status == 200
    assert (await call(mw, http_scope("/api/v1/timelines/home", token="alice-1"))).status == 429
    assert (await call(mw, http_scope("/api/v1/timelines/home", token="bob"))).status == 200
    # An unknown token is an anonymous request.
    assert (await call(mw, http_scope("/api/v1/timelines/home", token="nope", client="198.51.100.1"))).status == 429


@pytest.mark.parametrize(
    ("path", "limit"),
    [("/api/v1/accounts", 5), ("/auth/sign_up", 5), ("/oauth/token", 25), ("/auth/sign_in", 25)],
)
async def test_sign_up_and_sign_in_have_stricter_limits_per_ip(path: str, limit: int) -> None:
    _app, mw, _clock = limited(1000)
    statuses = [(await call(mw, http_scope(path, "POST"))).status for _ in range(limit + 1)]
    assert statuses == [200] * limit + [429]
    assert (await call(mw, http_scope(path, "POST", client="198.51.100.200"))).status == 200
    # Reading the page is not an attempt.
    assert (await call(mw, http_scope(path, "GET"))).status == 200


async def test_media_uploads_have_their_own_limit_per_account() -> None:
    _app, mw, _clock = limited(1000, accounts={"t": 1})
    answers = [await call(mw, http_scope("/api/v2/media", "POST", token="t")) for _ in range(31)]
    assert [a.status for a in answers[-2:]] == [200, 429]
    assert answers[0].headers["x-ratelimit-limit"] == "30"  # the budget closest to running out is shown
    assert (await call(mw, http_scope("/api/v1/statuses", "POST", token="t"))).status == 200


async def test_loopback_is_not_limited_unless_configured() -> None:
    _app, mw, _clock = limited(1)
    for _ in range(3):
        answer = await call(mw, http_scope("/api/v1/instance", client="127.0.0.1"))
        assert answer.status == 200 and "x-ratelimit-limit" not in answer.headers
    unix_socket = http_scope("/api/v1/instance")
    unix_socket["client"] = None
    for _ in range(3):
        assert (await call(mw, unix_socket)).status == 200
    _app, mw, _clock = limited(1, loopback_exempt=False)
    await call(mw, http_scope("/api/v1/instance", client="127.0.0.1"))
    assert (await call(mw, http_scope("/api/v1/instance", client="::1"))).status == 200
    assert (await call(mw, http_scope("/api/v1/instance", client="127.0.0.1"))).status == 429


async def test_pages_and_probes_are_not_counted() -> None:
    _app, mw, _clock = limited(1)
    for path in ("/health/ready", "/metrics", "/@alice", "/static/style.css"):
        for _ in range(3):
            answer = await call(mw, http_scope(path))
            assert answer.status == 200 and "x-ratelimit-limit" not in answer.headers


async def test_a_failing_token_lookup_counts_by_token_and_answers() -> None:
    async def broken(_scope: Scope, _token_hash: str) -> int | None:
        raise ConnectionError("database down")

    settings = Settings(rate_limit_requests=1, rate_limit_period=300)
    mw = RateLimitMiddleware(DummyApp(), settings=settings, store=LocalCounterStore(), resolve_account=broken)
    assert (await call(mw, http_scope("/api/v1/timelines/home", token="a"))).status == 200
    assert (await call(mw, http_scope("/api/v1/timelines/home", token="b"))).status == 200
    assert (await call(mw, http_scope("/api/v1/timelines/home", token="a"))).status == 429


async def test_requests_still_answer_when_redis_is_down() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    store = RedisCounterStore(f"redis://127.0.0.1:{port}/0", timeout=0.2)
    settings = Settings(rate_limit_requests=2, rate_limit_period=300)
    mw = RateLimitMiddleware(DummyApp(), settings=settings, store=store)
    try:
        answers = [await call(mw, http_scope("/api/v1/instance")) for _ in range(3)]
    finally:
        await store.aclose()
    assert [a.status for a in answers] == [200, 200, 429]
    assert answers[0].headers["x-ratelimit-remaining"] == "1"


def test_reset_times_are_iso_8601_in_utc() -> None:
    assert iso_time(0) == "1970-01-01T00:00:00.000000Z"


@pytest.fixture
async def remote_client(container: Container) -> AsyncIterator[httpx.AsyncClient]:
    """The real application with a tiny limit, reached from an address that is not loopback."""
    settings = container.settings.model_copy(update={"rate_limit_requests": 3, "rate_limit_loopback_exempt": False})
    app = create_app(settings, container=container)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.50", 4321))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as c:
        yield c


async def test_the_application_limits_by_account_with_a_real_token(
    remote_client: httpx.AsyncClient, make_actor: MakeActor
) -> None:
    alice = await make_actor("alice")
    for expected in ("2", "1", "0"):
        r = await remote_client.get("/api/v1/accounts/verify_credentials", headers=alice.headers)
        assert r.status_code == 200
        assert r.headers["x-ratelimit-remaining"] == expected
    r = await remote_client.get("/api/v1/timelines/home", headers=alice.headers)
    assert r.status_code == 429
    assert r.json() == {"error": "Too many requests"}
    assert int(r.headers["retry-after"]) >= 1
    # The same address without a token has its own budget.
    r = await remote_client.get("/api/v1/instance")
    assert r.status_code == 200
    assert r.headers["x-ratelimit-remaining"] == "2"


async def test_web_form_posts_spend_a_budget_per_browser_session() -> None:
    from starling.web.html.session import COOKIE_NAME

    app, mw, _clock = limited(2)
    alice = {"cookie": f"{COOKIE_NAME}=alice-signed-value; other=1"}
    bob = {"cookie": f"{COOKIE_NAME}=bob-signed-value"}
    statuses = [(await call(mw, http_scope("/statuses", "POST", headers=alice))).status for _ in range(3)]
    assert statuses == [200, 200, 429]
    # Another session behind the same address still has its own budget.
    assert (await call(mw, http_scope("/statuses", "POST", headers=bob))).status == 200
    # Without a session, posts count per address.
    anonymous = [(await call(mw, http_scope("/statuses", "POST", client="198.51.100.9"))).status for _ in range(3)]
    assert anonymous == [200, 200, 429]
    # Reading pages is not limited here (admission protects reads).
    assert (await call(mw, http_scope("/@alice", headers=alice))).status == 200
    assert len(app.started) == 6
