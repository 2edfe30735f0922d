"""Bulk seeding straight into the real tables (COPY on PostgreSQL, executemany in big transactions on SQLite).

Ids are made the way ``starling.domain.ids`` makes them (milliseconds << 16 | sequence), all in the past,
so ids the server makes during a benchmark sort after every seeded row. Timestamps match the ids.
Rows are written with the exact values the application would write (booleans, JSON, SQLAlchemy's
SQLite timestamp format), so the server reads them as its own.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench.common import Raw, log
from starling.domain.passwords import hash_password

PASSWORD = "benchmark-password"
SCOPES = "read write follow push"
DAY_MS = 86_400_000


def make_id(ms: int, seq: int) -> int:
    return (ms << 16) | (seq & 0xFFFF)


def ms_time(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


@dataclass
class Clock:
    """Hands out disjoint millisecond ranges in the past, oldest first."""

    next_ms: int = field(default_factory=lambda: int(time.time() * 1000) - 40 * DAY_MS)

    def take(self, span_ms: int) -> int:
        start = self.next_ms
        self.next_ms += max(1, span_ms)
        return start


@dataclass
class Accounts:
    ids: list[int]
    usernames: list[str]
    tokens: list[str | None]

    def token_list(self) -> list[str]:
        return [t for t in self.tokens if t is not None]

    def write_tokens(self, path: Path, indexes: Sequence[int] | None = None) -> Path:
        chosen = [self.tokens[i] for i in indexes] if indexes is not None else self.tokens
        path.write_text("\n".join(t for t in chosen if t is not None) + "\n")
        return path


class Seeder:
    def __init__(self, raw: Raw) -> None:
        self.raw = raw
        self.clock = Clock()
        self.salt = secrets.token_hex(6)
        self.app_id: int | None = None
        self.timings: dict[str, float] = {}
        self._password_hash: str | None = None

    async def begin(self) -> None:
        """Session settings that make bulk loading fast; the data written is the same."""
        if self.raw.backend == "postgres":
            # Skip foreign-key triggers while loading rows that are consistent by construction.
            await self.raw.execute("SET session_replication_role = replica")
            await self.raw.execute("SET synchronous_commit = off")
            await self.raw.execute("SET maintenance_work_mem = '512MB'")
            await self.raw.execute("SET work_mem = '256MB'")
        else:
            await self.raw.execute("PRAGMA journal_mode=WAL")
            await self.raw.execute("PRAGMA synchronous=OFF")
            await self.raw.execute("PRAGMA cache_size=-1000000")
            await self.raw.execute("PRAGMA temp_store=MEMORY")

    def _timed(self, key: str, started: float) -> None:
        self.timings[key] = round(self.timings.get(key, 0.0) + time.monotonic() - started, 2)

    async def application(self) -> int:
        if self.app_id is None:
            ms = self.clock.take(1)
            self.app_id = make_id(ms, 1)
            await self.raw.insert_rows(
                "applications",
                ["id", "name", "website", "redirect_uris", "scopes", "client_id", "client_secret", "created_at"],
                [(self.app_id, "Benchmark", None, "urn:ietf:wg:oauth:2.0:oob", SCOPES, secrets.token_hex(16),
                  secrets.token_hex(32), self.raw.ts(ms_time(ms)))],
            )
        return self.app_id

    async def accounts(self, count: int, prefix: str, *, tokens: bool | Sequence[int] = True) -> Accounts:
        """``count`` local accounts with users; ``tokens``: all, none, or the indexes that get a token."""
        started = time.monotonic()
        app_id = await self.application()
        if self._password_hash is None:
            self._password_hash = hash_password(PASSWORD)
        start = self.clock.take(count)
        ids = [make_id(start + i, 1) for i in range(count)]
        names = [f"{prefix}{i}" for i in range(count)]
        ts = self.raw.ts

        def account_rows() -> Iterator[tuple[object, ...]]:
            for i in range(count):
                at = ts(ms_time(start + i))
                yield (ids[i], names[i], names[i].lower(), None, "", f"Bench {names[i]}", "", "", "[]",
                       False, False, True, True, 0, 0, 0, at, at)

        # The counters are set by refresh_counters once follows and statuses exist.
        await self.raw.insert_rows(
            "accounts",
            ["id", "username", "username_lower", "domain", "domain_key", "display_name", "note", "note_html",
             "fields", "locked", "bot", "discoverable", "indexable", "followers_count", "following_count",
             "statuses_count", "created_at", "updated_at"],
            account_rows(),
        )
        pw = self._password_hash

        def user_rows() -> Iterator[tuple[object, ...]]:
            for i in range(count):
                yield (make_id(start + i, 2), ids[i], f"{names[i].lower()}@bench.example", pw, False, True, True,
                       "en", None, "public", False, None, ts(ms_time(start + i)))

        await self.raw.insert_rows(
            "users",
            ["id", "account_id", "email", "password_hash", "admin", "approved", "confirmed", "locale", "reason",
             "default_privacy", "default_sensitive", "default_language", "created_at"],
            user_rows(),
        )
        wanted: Sequence[int]
        if tokens is True:
            wanted = range(count)
        elif tokens is False:
            wanted = range(0)
        else:
            wanted = tokens
        raw_tokens: list[str | None] = [None] * count
        for i in wanted:
            raw_tokens[i] = f"bench{self.salt}{prefix}{i}"

        def token_rows() -> Iterator[tuple[object, ...]]:
            for i in wanted:
                token = raw_tokens[i]
                assert token is not None
                yield (make_id(start + i, 3), hashlib.sha256(token.encode()).hexdigest(), app_id,
                       make_id(start + i, 2), SCOPES, ts(ms_time(start + i)))

        await self.raw.insert_rows(
            "oauth_tokens", ["id", "token_hash", "application_id", "user_id", "scopes", "created_at"], token_rows()
        )
        self._timed("accounts_s", started)
        log(f"seeded {count} accounts '{prefix}*' ({len(wanted)} tokens)")
        return Accounts(ids, names, raw_tokens)

    async def follows(self, pairs: Sequence[tuple[int, int]]) -> None:
        """(follower, followed) pairs."""
        started = time.monotonic()
        start = self.clock.take(len(pairs) // 0x10000 + 1)
        ts = self.raw.ts
        at = ts(ms_time(start))

        def rows() -> Iterator[tuple[object, ...]]:
            for k, (a, b) in enumerate(pairs):
                yield ((start + (k >> 16)) << 16 | (k & 0xFFFF), a, b, True, False, at)

        await self.raw.insert_rows(
            "follows", ["id", "account_id", "target_account_id", "show_reblogs", "notify", "created_at"], rows()
        )
        self._timed("follows_s", started)
        log(f"seeded {len(pairs)} follows")

    async def statuses(self, authors: Sequence[int], count: int, *, span_days: float = 30.0) -> list[int]:
        """``count`` public statuses, round-robin over ``authors``, evenly spread over ``span_days`` up to a
        minute ago. Status ``g`` is by ``authors[g % len(authors)]``; returns the ids in order (oldest first)."""
        started = time.monotonic()
        app_id = await self.application()
        now_ms = int(time.time() * 1000) - 60_000
        first_ms = max(self.clock.next_ms, now_ms - int(span_days * DAY_MS))
        step = max(1, (now_ms - first_ms) // max(1, count))
        ids = [make_id(first_ms + g * step, g) for g in range(count)]
        ts = self.raw.ts
        n_authors = len(authors)

        def rows() -> Iterator[tuple[object, ...]]:
            for g in range(count):
                text = f"Status {g}: the quick brown fox jumps over the lazy dog, number {g % 997} of many"
                yield (ids[g], authors[g % n_authors], True, text, f"<p>{text}</p>", "", False, "public", "en",
                       ids[g], app_id, False, 0, 0, 0, ts(ms_time(first_ms + g * step)))

        await self.raw.insert_rows(
            "statuses",
            ["id", "account_id", "local", "text", "content", "spoiler_text", "sensitive", "visibility", "language",
             "conversation_id", "application_id", "has_media", "replies_count", "reblogs_count", "favourites_count",
             "created_at"],
            rows(),
        )
        self._timed("statuses_s", started)
        log(f"seeded {count} statuses")
        return ids

    async def home_feed_from_follows(self, follower_ids: Sequence[int], min_status_id: int, batch: int = 250) -> int:
        """Each follower's feed gets the followed accounts' statuses with id >= ``min_status_id``."""
        started = time.monotonic()
        ordered = sorted(follower_ids)
        for i in range(0, len(ordered), batch):
            chunk = ordered[i:i + batch]
            await self.raw.execute(
                "INSERT INTO home_feed (account_id, status_id, author_id) "
                "SELECT f.account_id, s.id, s.account_id FROM follows f "
                "JOIN statuses s ON s.account_id = f.target_account_id AND s.id >= ? "
                f"WHERE f.account_id IN ({', '.join('?' * len(chunk))})",
                min_status_id, *chunk,
            )
            if (i // batch) % 8 == 7:
                log(f"home feed: {i + batch}/{len(ordered)} accounts")
        total = int(await self.raw.fetchval("SELECT count(*) FROM home_feed"))
        self._timed("home_feed_s", started)
        log(f"seeded home feeds: {total} entries")
        return total

    async def refresh_counters(self) -> None:
        """followers_count, following_count, statuses_count and last_status_at from the rows."""
        started = time.monotonic()
        if self.raw.backend == "postgres":
            await self.raw.execute(
                "UPDATE accounts a SET followers_count = c.n FROM (SELECT target_account_id AS id, count(*) AS n "
                "FROM follows GROUP BY target_account_id) c WHERE a.id = c.id")
            await self.raw.execute(
                "UPDATE accounts a SET following_count = c.n FROM (SELECT account_id AS id, count(*) AS n "
                "FROM follows GROUP BY account_id) c WHERE a.id = c.id")
            await self.raw.execute(
                "UPDATE accounts a SET statuses_count = c.n, last_status_at = c.last FROM (SELECT account_id AS id, "
                "count(*) AS n, max(created_at) AS last FROM statuses GROUP BY account_id) c WHERE a.id = c.id")
        else:
            await self.raw.execute("BEGIN")
            await self.raw.execute(
                "UPDATE accounts SET followers_count = (SELECT count(*) FROM follows "
                "WHERE target_account_id = accounts.id), following_count = (SELECT count(*) FROM follows "
                "WHERE account_id = accounts.id), statuses_count = (SELECT count(*) FROM statuses "
                "WHERE account_id = accounts.id), last_status_at = (SELECT max(created_at) FROM statuses "
                "WHERE account_id = accounts.id)")
            await self.raw.execute("COMMIT")
        self._timed("counters_s", started)

    async def finish(self) -> None:
        """Leave the database as a running server would find it: statistics fresh, WAL checkpointed."""
        started = time.monotonic()
        if self.raw.backend == "postgres":
            await self.raw.execute("RESET session_replication_role")
            # Autovacuum would do this on a live server; a bulk load has to ask for it.
            await self.raw.execute("VACUUM ANALYZE")
        else:
            await self.raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._timed("finish_s", started)
