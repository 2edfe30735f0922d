"""Per-process request counting for the activity profile; no I/O, O(1) per request.

The web layer calls :meth:`ActivityCounter.hit` on every request and drains the counter about once a
minute into ``activity_hours``. Who made a request is kept as the opaque credential it carried (a
bearer token, a browser-session cookie): turning those into accounts costs a query, so it happens
once per drain for the whole batch, never on the request path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

# Credentials kept per hour and kind between two drains; more are counted as requests only.
MAX_CREDENTIALS = 20_000


@dataclass
class HourBatch:
    hour_start: datetime
    requests: int = 0
    tokens: set[str] = field(default_factory=set)
    cookies: set[str] = field(default_factory=set)

    def absorb(self, other: HourBatch) -> None:
        self.requests += other.requests
        _add_bounded(self.tokens, other.tokens)
        _add_bounded(self.cookies, other.cookies)


def _add_bounded(target: set[str], values: set[str]) -> None:
    for value in values:
        if len(target) >= MAX_CREDENTIALS:
            return
        target.add(value)


class ActivityCounter:
    def __init__(self) -> None:
        self._hours: dict[int, HourBatch] = {}

    def _batch(self, epoch_seconds: float) -> HourBatch:
        hour = int(epoch_seconds // 3600)
        batch = self._hours.get(hour)
        if batch is None:
            batch = HourBatch(datetime.fromtimestamp(hour * 3600, tz=UTC))
            self._hours[hour] = batch
        return batch

    def hit(self, epoch_seconds: float, *, token: str | None = None, cookie: str | None = None) -> None:
        batch = self._batch(epoch_seconds)
        batch.requests += 1
        if token is not None and len(batch.tokens) < MAX_CREDENTIALS:
            batch.tokens.add(token)
        elif cookie is not None and len(batch.cookies) < MAX_CREDENTIALS:
            batch.cookies.add(cookie)

    def drain(self) -> list[HourBatch]:
        """Everything counted since the last drain, oldest hour first; the counter starts empty again."""
        batches = [self._hours[h] for h in sorted(self._hours)]
        self._hours = {}
        return batches

    def restore(self, batches: list[HourBatch]) -> None:
        """Put back batches a failed flush could not store, so the next flush tries again."""
        for batch in batches:
            hour = int(batch.hour_start.timestamp() // 3600)
            current = self._hours.get(hour)
            if current is None:
                self._hours[hour] = batch
            else:
                current.absorb(batch)

    @property
    def pending_requests(self) -> int:
        return sum(b.requests for b in self._hours.values())
