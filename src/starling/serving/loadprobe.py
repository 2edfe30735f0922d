"""A small load generator that counts what a client would notice during a reload.

Each of ``concurrency`` clients sends requests back to back on a keep-alive connection: reads of
the instance and the public timeline and, with a token, posts and home-timeline reads. Every request
ends as a success (2xx-4xx), a server error (5xx) or a transport error (connection refused or
reset, server disconnected without answering, timeout). It runs in a thread of its own, so a test or
a script can reload the server meanwhile; the summary has the failures, the slowest request and the
longest time without any completed request.

``python -m starling.serving.loadprobe http://127.0.0.1:8000 --seconds 20 --token T`` runs it alone.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class Outcome:
    started: float
    finished: float
    kind: str  # "ok", "http-5xx", or the exception class name
    method: str
    path: str
    status: int | None = None
    body: str = ""


@dataclass
class Summary:
    total: int
    ok: int
    failures: dict[str, int]
    slowest: float
    longest_gap: float
    posted_ids: list[str] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return self.total - self.ok

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": self.total, "ok": self.ok, "failed": self.failed, "failures": self.failures,
            "slowest_s": round(self.slowest, 3), "longest_gap_s": round(self.longest_gap, 3),
            "posted": len(self.posted_ids), "examples": self.examples[:5],
        }


class LoadProbe:
    def __init__(
        self, base_url: str, *, concurrency: int = 4, token: str | None = None, keep_alive: bool = True,
        request_timeout: float = 30.0,
    ) -> None:
        self.base_url = base_url
        self.concurrency = concurrency
        self.token = token
        self.keep_alive = keep_alive
        self.request_timeout = request_timeout
        self.outcomes: list[Outcome] = []
        self.posted_ids: list[str] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._counter = itertools.count()

    def _plan(self) -> list[tuple[str, str]]:
        reads = [("GET", "/api/v1/instance"), ("GET", "/api/v1/timelines/public?limit=5")]
        if not self.token:
            return reads
        return [*reads, ("POST", "/api/v1/statuses"), ("GET", "/api/v1/timelines/home?limit=5")]

    async def _client_loop(self, number: int) -> None:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        limits = httpx.Limits(max_keepalive_connections=1 if self.keep_alive else 0, max_connections=1)
        plan = self._plan()
        async with httpx.AsyncClient(
            base_url=self.base_url, headers=headers, limits=limits, timeout=self.request_timeout
        ) as client:
            for step in itertools.count(number):
                if self._stop.is_set():
                    return
                method, path = plan[step % len(plan)]
                started = time.monotonic()
                try:
                    if method == "POST":
                        n = next(self._counter)
                        response = await client.post(path, json={"status": f"load probe {n}", "visibility": "public"})
                    else:
                        response = await client.get(path)
                except httpx.HTTPError as exc:
                    self.outcomes.append(Outcome(started, time.monotonic(), type(exc).__name__, method, path,
                                                 body=str(exc)[:200]))
                    continue
                kind = "http-5xx" if response.status_code >= 500 else "ok"
                self.outcomes.append(Outcome(started, time.monotonic(), kind, method, path, response.status_code,
                                             response.text[:200] if kind != "ok" else ""))
                if method == "POST" and response.status_code == 200:
                    self.posted_ids.append(str(response.json()["id"]))

    async def _main(self) -> None:
        await asyncio.gather(*(self._client_loop(i) for i in range(self.concurrency)))

    def start(self) -> LoadProbe:
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), name="load-probe", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> Summary:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.request_timeout + 5)
        return self.summary()

    def summary(self) -> Summary:
        outcomes = sorted(self.outcomes, key=lambda o: o.finished)
        failures = Counter(o.kind for o in outcomes if o.kind != "ok")
        ok_times = [o.finished for o in outcomes if o.kind == "ok"]
        gaps = [b - a for a, b in itertools.pairwise(ok_times)]
        examples = [f"{o.method} {o.path}: {o.kind} {o.status or ''} {o.body}" for o in outcomes if o.kind != "ok"]
        return Summary(
            total=len(outcomes), ok=len(outcomes) - sum(failures.values()), failures=dict(failures),
            slowest=max((o.finished - o.started for o in outcomes), default=0.0),
            longest_gap=max(gaps, default=0.0), posted_ids=list(self.posted_ids), examples=examples,
        )

    def count(self) -> int:
        return len(self.outcomes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("base_url")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--token")
    parser.add_argument("--no-keep-alive", action="store_true")
    args = parser.parse_args()
    probe = LoadProbe(args.base_url, concurrency=args.concurrency, token=args.token,
                      keep_alive=not args.no_keep_alive).start()
    time.sleep(args.seconds)
    print(json.dumps(probe.stop().as_dict(), indent=2))


if __name__ == "__main__":
    main()
