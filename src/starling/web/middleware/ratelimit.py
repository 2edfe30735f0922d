"""Rate limits as Mastodon has them, answered with 429 before any work is done.

Every API request counts against one general budget (``rate_limit_requests`` per ``rate_limit_period``,
300 per 5 minutes by default): the account's when the request carries a user's token, the IP address's
otherwise. Sign-up, sign-in and media uploads have stricter budgets of their own. API responses carry
``X-RateLimit-Limit``, ``X-RateLimit-Remaining`` and ``X-RateLimit-Reset`` (ISO 8601) for the budget
closest to running out; a refused request also gets ``Retry-After``.

The account behind a token is looked up once and remembered for a few minutes, so counting costs no
query per request. Requests from the loopback address are not limited (as Mastodon does), unless
``rate_limit_loopback_exempt`` is off.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from starling import metrics
from starling.adapters.ratelimit_store import CounterStore, Window, make_counter_store
from starling.config import Settings
from starling.domain.tokens import hash_token
from starling.repositories.token_accounts import account_id_for_token_hash
from starling.web.middleware.classify import SESSION_COOKIE_NAME, bearer_token, bypasses
from starling.web.middleware.context import client_ip, header, request_info

log = logging.getLogger("starling.ratelimit")

TOO_MANY = orjson.dumps({"error": "Too many requests"})

SIGN_UP_PATHS = frozenset({"/api/v1/accounts", "/auth/sign_up"})
SIGN_IN_PATHS = frozenset({"/oauth/token", "/auth/sign_in"})
MEDIA_PATHS = frozenset({"/api/v1/media", "/api/v2/media"})
# Form posts of the web pages: the same budget as the API, kept per browser session (else per IP).
NOT_WEB_FORMS = ("/api/", "/oauth/", "/system/", "/health/")


@dataclass(frozen=True)
class Rule:
    name: str
    limit: int
    period: int


SIGN_UP = Rule("sign_up", 5, 30 * 60)
SIGN_IN = Rule("sign_in", 25, 5 * 60)
# Mastodon's default; the budget in force comes from settings.media_rate_limit_requests / _period.
MEDIA = Rule("media", 30, 30 * 60)


@dataclass(frozen=True)
class Count:
    rule: Rule
    window: Window

    @property
    def remaining(self) -> int:
        return max(0, self.rule.limit - self.window.count)

    @property
    def exceeded(self) -> bool:
        return self.window.count > self.rule.limit


def rules_for(method: str, path: str, settings: Settings) -> list[tuple[Rule, bool]]:
    """The budgets a request spends, each with whether it is kept per account (else per IP)."""
    rules: list[tuple[Rule, bool]] = []
    if path.startswith("/api/"):
        rules.append((Rule("api", settings.rate_limit_requests, settings.rate_limit_period), True))
    if method == "POST":
        if path in SIGN_UP_PATHS:
            rules.append((SIGN_UP, False))
        elif path in SIGN_IN_PATHS:
            rules.append((SIGN_IN, False))
        elif path in MEDIA_PATHS:
            rules.append((Rule(MEDIA.name, settings.media_rate_limit_requests, settings.media_rate_limit_period), True))
        elif not path.startswith(NOT_WEB_FORMS):
            rules.append((Rule("web", settings.rate_limit_requests, settings.rate_limit_period), True))
    return rules


def session_key(scope: Scope) -> str | None:
    """A counting key for a browser session (a hash of its signed cookie), or None without one.

    Keying web form posts by session rather than by address keeps people behind one shared address
    (a carrier's NAT) from spending each other's budget; sessions themselves come from sign-ins, which
    are limited per address."""
    raw = header(scope, b"cookie")
    if raw is None:
        return None
    value = cookie_parser(raw).get(SESSION_COOKIE_NAME)
    return f"ses:{hashlib.sha256(value.encode()).hexdigest()[:32]}" if value else None


def iso_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def is_loopback(ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip).is_loopback
    except ValueError:
        return False


AccountResolver = Callable[[Scope, str], Awaitable[int | None]]


async def resolve_from_database(scope: Scope, token_hash: str) -> int | None:
    container = scope["app"].state.container
    async with container.sessions() as session:
        return await account_id_for_token_hash(session, token_hash)


class TokenAccounts:
    """A small memory of token hash → account id (None: not a user's token), bounded and expiring."""

    def __init__(
        self,
        resolve: AccountResolver,
        *,
        ttl: float = 300.0,
        failure_ttl: float = 5.0,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.resolve = resolve
        self.ttl = ttl
        self.failure_ttl = failure_ttl
        self.max_entries = max_entries
        self.clock = clock
        self._entries: OrderedDict[str, tuple[str | None, float]] = OrderedDict()

    async def key_for(self, scope: Scope, token_hash: str) -> tuple[str | None, int | None]:
        """The counting key (``acct:<id>``, or ``tok:<hash>`` when the database could not say) and the account id."""
        now = self.clock()
        cached = self._entries.get(token_hash)
        if cached is not None and cached[1] > now:
            return cached[0], _account_of(cached[0])
        try:
            account_id = await self.resolve(scope, token_hash)
        except Exception:  # the database is unreachable: count by token for a moment, never fail the request
            log.debug("token lookup for rate limiting failed", exc_info=True)
            key: str | None = f"tok:{token_hash[:32]}"
            self._remember(token_hash, key, now + self.failure_ttl)
            return key, None
        key = f"acct:{account_id}" if account_id is not None else None
        self._remember(token_hash, key, now + self.ttl)
        return key, account_id

    def _remember(self, token_hash: str, key: str | None, until: float) -> None:
        self._entries[token_hash] = (key, until)
        self._entries.move_to_end(token_hash)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)


def _account_of(key: str | None) -> int | None:
    if key is not None and key.startswith("acct:"):
        return int(key[5:])
    return None


class RateLimitMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        settings: Settings,
        store: CounterStore | None = None,
        resolve_account: AccountResolver | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app = app
        self.settings = settings
        self.store = store if store is not None else make_counter_store(settings.redis_url)
        self.tokens = TokenAccounts(resolve_account or resolve_from_database)
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, self._closing_on_shutdown(receive), send)
            return
        if scope["type"] != "http" or not self.settings.rate_limits_enabled or bypasses(scope["path"]):
            await self.app(scope, receive, send)
            return
        rules = rules_for(scope["method"], scope["path"], self.settings)
        ip = client_ip(scope)
        # No client address: a Unix socket, which only this host can reach.
        local = not scope.get("client") or is_loopback(ip)
        if not rules or (self.settings.rate_limit_loopback_exempt and local):
            await self.app(scope, receive, send)
            return
        counts = await self._count(scope, rules, ip)
        exceeded = [c for c in counts if c.exceeded]
        if exceeded:
            worst = max(exceeded, key=lambda c: c.window.reset_at)
            request_info(scope).ratelimited = True
            metrics.RATE_LIMITED.labels(rule=worst.rule.name).inc()
            await self._refuse(send, worst)
            return
        shown = min(counts, key=lambda c: (c.remaining, -c.window.reset_at))
        headers = _headers(shown)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *headers]}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _count(self, scope: Scope, rules: list[tuple[Rule, bool]], ip: str) -> list[Count]:
        account_key: str | None = None
        if any(per_account for _, per_account in rules):
            token = bearer_token(scope)
            if token is not None:
                account_key, account_id = await self.tokens.key_for(scope, hash_token(token))
                if account_id is not None:
                    request_info(scope).account_id = account_id
            else:
                account_key = session_key(scope)
        counts = []
        for rule, per_account in rules:
            who = account_key if per_account and account_key is not None else f"ip:{ip}"
            window = await self.store.hit(f"{rule.name}:{rule.period}:{who}", rule.period)
            counts.append(Count(rule, window))
        return counts

    async def _refuse(self, send: Send, count: Count) -> None:
        retry_after = max(1, math.ceil(count.window.reset_at - self.clock()))
        await send(
            {
                "type": "http.response.start",
                "status": 429,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(TOO_MANY)).encode()),
                    (b"retry-after", str(retry_after).encode()),
                    *_headers(count),
                ],
            }
        )
        await send({"type": "http.response.body", "body": TOO_MANY})

    def _closing_on_shutdown(self, receive: Receive) -> Receive:
        async def wrapped() -> Message:
            message = await receive()
            if message["type"] == "lifespan.shutdown":
                await self.store.aclose()
            return message

        return wrapped


def _headers(count: Count) -> list[tuple[bytes, bytes]]:
    return [
        (b"x-ratelimit-limit", str(count.rule.limit).encode()),
        (b"x-ratelimit-remaining", str(count.remaining).encode()),
        (b"x-ratelimit-reset", iso_time(count.window.reset_at).encode()),
    ]
