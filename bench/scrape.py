"""Reading the server's own histograms from ``/metrics`` (summed over the workers when the server runs with
``PROMETHEUS_MULTIPROC_DIR``): counts per bucket, and between two scrapes how many were observed and which
bucket holds the median and the 99th percentile."""

from __future__ import annotations

from typing import Any

import httpx

Buckets = dict[str, float]  # upper bound ("0.05", "+Inf") -> cumulative count


def histogram(text: str, name: str, *, where: str = "") -> Buckets:
    """The buckets of histogram ``name`` in exposition ``text``, summed over label sets (only those whose
    labels contain ``where``, when given)."""
    out: Buckets = {}
    prefix = f"{name}_bucket{{"
    for line in text.splitlines():
        if not line.startswith(prefix) or where not in line:
            continue
        labels, _, value = line.rpartition(" ")
        le = labels.split('le="', 1)[1].split('"', 1)[0]
        out[le] = out.get(le, 0.0) + float(value)
    return out


def between(before: Buckets, after: Buckets) -> dict[str, Any]:
    """Observations between two scrapes: their number, and the bucket bound of the median and of the 99th
    percentile (``"<= 25 ms"``; ``None`` without observations)."""
    counts = {le: after[le] - before.get(le, 0.0) for le in after}
    total = counts.get("+Inf", 0.0)
    finite = sorted(((le, n) for le, n in counts.items() if le != "+Inf"), key=lambda item: float(item[0]))

    def bound(q: float) -> str | None:
        if total <= 0:
            return None
        for le, n in finite:
            if n >= q * total:
                return f"<= {float(le) * 1000:g} ms"
        return f"> {float(finite[-1][0]) * 1000:g} ms" if finite else None

    return {"n": int(total), "p50": bound(0.5), "p99": bound(0.99)}


async def metrics_text(base_url: str) -> str | None:
    """The server's ``/metrics`` text, or None when it does not answer within a minute (it reads the
    database)."""
    try:
        async with httpx.AsyncClient(timeout=60.0) as client:
            return (await client.get(f"{base_url}/metrics")).text
    except httpx.HTTPError:
        return None


WRITE_GATE = {"wait": "starling_db_write_gate_wait_seconds", "held": "starling_db_write_gate_held_seconds"}


def write_gate(before: str | None, after: str | None) -> dict[str, Any] | None:
    """SQLite's write gate between two scrapes: how long write transactions waited for it and held it."""
    if before is None or after is None:
        return None
    return {key: between(histogram(before, name), histogram(after, name)) for key, name in WRITE_GATE.items()}
