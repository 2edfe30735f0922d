"""Streaming latency and memory: N concurrent streaming connections (half SSE, half WebSocket), each
held by a follower of one author.

Memory per idle connection is the growth of the web workers' RSS while the N connections are open and
idle, divided by N. Latency is measured per post and per connection from the moment the
``POST /api/v1/statuses`` response arrives to the moment the ``update`` event carrying that status is
read from the connection (an event read before the response arrives counts as 0). Each post waits until
every connection has received the previous one.

    python -m bench.streaming --db sqlite --connections 1000 --posts 20
"""

from __future__ import annotations

import asyncio
import json
import resource
import time
from typing import Any

import httpx
import websockets

from bench.common import Bench, add_server_settings, base_parser, emit, log, machine_info, server_settings
from bench.seed import Seeder

TARGET_P99_MS = 250.0
TARGET_KB_PER_CONNECTION = 20.0


class Listener:
    """One follower's stream: records when each status id arrived."""

    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}
        self.arrived = asyncio.Event()
        self.opened = asyncio.Event()
        self.failed: str | None = None

    def seen(self, payload: str) -> None:
        try:
            status_id = str(json.loads(payload)["id"])
        except (ValueError, KeyError, TypeError):
            return
        self.arrivals.setdefault(status_id, time.monotonic())
        self.arrived.set()


async def sse_listener(port: int, token: str, listener: Listener, stop: asyncio.Event, path: str = "user") -> None:
    """A minimal SSE client on a raw socket (a full HTTP client per connection would dwarf the server)."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
        auth = f"Authorization: Bearer {token}\r\n" if path == "user" else ""
        writer.write((f"GET /api/v1/streaming/{path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                      f"{auth}Accept: text/event-stream\r\n\r\n").encode())
        await writer.drain()
        status_line = await reader.readline()
        if b" 200 " not in status_line:
            raise RuntimeError(status_line.decode(errors="replace").strip())
        listener.opened.set()
        buffer = b""
        reading = asyncio.ensure_future(stop.wait())
        while not stop.is_set():
            chunk = asyncio.ensure_future(reader.read(1 << 16))
            done, _ = await asyncio.wait({chunk, reading}, return_when=asyncio.FIRST_COMPLETED)
            if chunk not in done:
                chunk.cancel()
                break
            data = chunk.result()
            if not data:
                break
            buffer += data
            # Chunked transfer encoding puts size lines between events; they never start with a field name.
            *events, buffer = buffer.split(b"\n\n")
            for raw_event in events:
                event = b""
                for line in raw_event.split(b"\n"):
                    line = line.rstrip(b"\r")
                    if line.startswith(b"event: "):
                        event = line[7:]
                    elif line.startswith(b"data: ") and event == b"update":
                        listener.seen(line[6:].decode())
        writer.close()
    except Exception as exc:
        listener.failed = f"{type(exc).__name__}: {exc}"
        listener.opened.set()


async def ws_listener(port: int, token: str, listener: Listener, stop: asyncio.Event) -> None:
    try:
        async with websockets.connect(f"ws://127.0.0.1:{port}/api/v1/streaming?stream=user",
                                      additional_headers={"Authorization": f"Bearer {token}"},
                                      max_queue=None, ping_interval=None) as ws:
            listener.opened.set()
            stopping = asyncio.ensure_future(stop.wait())
            receive = asyncio.ensure_future(ws.recv())
            while True:
                done, _ = await asyncio.wait({receive, stopping}, return_when=asyncio.FIRST_COMPLETED)
                if stopping in done:
                    receive.cancel()
                    await asyncio.gather(receive, return_exceptions=True)
                    break
                message = json.loads(receive.result())
                if message.get("event") == "update":
                    listener.seen(message["payload"])
                receive = asyncio.ensure_future(ws.recv())
    except Exception as exc:
        listener.failed = f"{type(exc).__name__}: {exc}"
        listener.opened.set()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


async def run(args: Any) -> dict[str, Any]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4 * args.connections + 256)), hard))
    bench = Bench(name="streaming", backend=args.db, workers=args.workers, settings=server_settings(args.env))
    result: dict[str, Any] = {"benchmark": "streaming", "db": args.db, "workers": args.workers,
                              "connections": args.connections, "posts": args.posts, "machine": machine_info()}
    stop = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []
    try:
        _db, raw = await bench.prepare()
        seeder = Seeder(raw)
        await seeder.begin()
        author = await seeder.accounts(1, "author")
        followers = await seeder.accounts(args.connections, "listener")
        await seeder.follows([(f, author.ids[0]) for f in followers.ids])
        await seeder.refresh_counters()
        await seeder.finish()
        await raw.close()
        server = await bench.start_server()
        port = server.port
        await asyncio.sleep(1.0)
        before = server.memory()
        listeners = [Listener() for _ in range(args.connections)]
        opened_at = time.monotonic()
        for i, (listener, token) in enumerate(zip(listeners, followers.token_list(), strict=True)):
            use_sse = args.transport == "sse" or (args.transport == "mixed" and i % 2 == 0)
            kind = sse_listener if use_sse else ws_listener
            if use_sse and args.stream == "public":
                tasks.append(asyncio.create_task(sse_listener(port, token, listener, stop, "public")))
            else:
                tasks.append(asyncio.create_task(kind(port, token, listener, stop)))
            if i % 50 == 49:
                await asyncio.gather(*(x.opened.wait() for x in listeners[: i + 1]))
        await asyncio.gather(*(x.opened.wait() for x in listeners))
        failed = [x.failed for x in listeners if x.failed]
        result["open_s"] = round(time.monotonic() - opened_at, 2)
        result["failed_connections"] = len(failed)
        if failed:
            result["first_failures"] = failed[:5]
        await asyncio.sleep(args.settle)
        idle = server.memory()
        web = set(server.web_pids())
        grown = sum(p["rss_mb"] for p in idle["processes"] if p["pid"] in web) - sum(
            p["rss_mb"] for p in before["processes"] if p["pid"] in web)
        result["web_rss_mb_before"] = round(sum(p["rss_mb"] for p in before["processes"] if p["pid"] in web), 1)
        result["web_rss_mb_idle"] = round(sum(p["rss_mb"] for p in idle["processes"] if p["pid"] in web), 1)
        result["kb_per_idle_connection"] = round(grown * 1024 / args.connections, 2)
        live = [x for x in listeners if not x.failed]
        latencies: list[float] = []
        early = 0
        token = author.token_list()[0]
        async with httpx.AsyncClient(base_url=server.base_url, timeout=60,
                                     headers={"Authorization": f"Bearer {token}"}) as client:
            for n in range(args.posts + args.warmup):
                response = await client.post("/api/v1/statuses", json={"status": f"streaming benchmark {n}"})
                answered = time.monotonic()
                response.raise_for_status()
                status_id = str(response.json()["id"])
                deadline = answered + args.timeout
                while any(status_id not in x.arrivals for x in live) and time.monotonic() < deadline:  # noqa: ASYNC110
                    await asyncio.sleep(0.005)
                missing = sum(1 for x in live if status_id not in x.arrivals)
                if n < args.warmup:
                    continue
                for x in live:
                    if status_id in x.arrivals:
                        delta = x.arrivals[status_id] - answered
                        early += delta < 0
                        latencies.append(max(0.0, delta) * 1000)
                if missing:
                    result.setdefault("missing", 0)
                    result["missing"] += missing
                log(f"post {n}: {len(live) - missing}/{len(live)} received, "
                    f"slowest {max((x.arrivals.get(status_id, answered) - answered) for x in live) * 1000:.1f} ms")
                await asyncio.sleep(args.pause)
        result["latency_ms"] = {
            "p50": round(percentile(latencies, 0.50), 1), "p90": round(percentile(latencies, 0.90), 1),
            "p99": round(percentile(latencies, 0.99), 1), "max": round(max(latencies, default=float("nan")), 1),
            "samples": len(latencies), "before_response": early,
        }
        result["targets"] = {
            "p99_ms": TARGET_P99_MS, "kb_per_idle_connection": TARGET_KB_PER_CONNECTION,
            "p99_met": result["latency_ms"]["p99"] < TARGET_P99_MS,
            "memory_met": result["kb_per_idle_connection"] < TARGET_KB_PER_CONNECTION,
        }
        result["server_log_errors"] = server.log_errors()
    except Exception as exc:
        result["error"] = f"{type(exc).__name__}: {exc}"
        log(f"streaming failed: {result['error']}")
    finally:
        stop.set()
        await asyncio.wait(tasks, timeout=10) if tasks else None
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await bench.close()
    return result


def main() -> None:
    parser = base_parser(__doc__ or "")
    add_server_settings(parser)
    parser.set_defaults(workers=1)
    parser.add_argument("--connections", type=int, default=1000, help="streaming connections (half SSE, half WS)")
    parser.add_argument("--transport", choices=["mixed", "sse", "ws"], default="mixed", help="connection kinds")
    parser.add_argument("--stream", choices=["user", "public"], default="user",
                        help="SSE connections follow the home stream (signed in) or the public one (anonymous)")
    parser.add_argument("--posts", type=int, default=20, help="measured posts")
    parser.add_argument("--warmup", type=int, default=2, help="posts before measuring")
    parser.add_argument("--pause", type=float, default=0.2, help="seconds between posts")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds idle before reading memory")
    parser.add_argument("--timeout", type=float, default=30.0, help="give up on one post after this long")
    args = parser.parse_args()
    emit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
