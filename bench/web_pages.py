"""Web pages: the weight of each main page, and how fast the server renders the home timeline.

Data: a reader who follows a writer; the writer has 20 text posts (one in Persian, some with a hashtag,
a mention and a link), and a few other accounts have liked and replied, so notifications, the thread
and the profile all have content. Everything is made through the web forms and the API, as people would.

Weight: the bytes (before compression) of each page's HTML as the signed-in reader sees it, plus the one
stylesheet and the one script every page loads. The target: the home timeline with 20 posts under
40 KB of HTML + CSS + JS.

Load: wrk (one thread, --connections, default 16) asks for the reader's home page (20 posts, full HTML)
with the reader's session cookie, for --duration seconds per run after a 3 s warm-up; p50/p99 come from
wrk's latency distribution and the median of --runs runs is reported. Requests the admission middleware
sheds (503 after the queue deadline of signed-in reads) are counted as non-2xx. A sequential, unloaded
mean over 50 requests is reported too.

    python -m bench.web_pages --db sqlite --runs 3
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from bench.common import (
    Bench,
    add_server_settings,
    base_parser,
    emit,
    iso_now,
    log,
    machine_info,
    median,
    server_settings,
    starling_command,
)

PASSWORD = "correct horse battery"
PERSIAN = "سلام! امروز هوا در تهران آفتابی است و باغ پر از گل است."
WRK_SCRIPT = """
wrk.headers["Cookie"] = os.getenv("BENCH_COOKIE")
wrk.headers["Accept"] = "text/html"
"""


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    if match is None:
        raise RuntimeError("no form token on the page")
    return match.group(1)


async def _browser(base: str, username: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=base, timeout=30)
    page = await client.get("/auth/sign_in")
    r = await client.post("/auth/sign_in", data={"csrf_token": _csrf(page.text), "login": username,
                                                 "password": PASSWORD, "next": "/"})
    if r.status_code != 303:
        raise RuntimeError(f"could not sign in as {username}: {r.status_code}")
    return client


async def _form(client: httpx.AsyncClient, action: str, **values: str) -> httpx.Response:
    token = _csrf((await client.get("/about")).text)
    return await client.post(action, data={"csrf_token": token, **values})


def _create_user(env: dict[str, str], username: str, admin: bool = False) -> None:
    args = starling_command("create-user", username, "--email", f"{username}@example.org", "--password", PASSWORD)
    subprocess.run([*args, "--admin"] if admin else args, env=env, check=True, capture_output=True, timeout=120)


async def seed(base: str, env: dict[str, str]) -> dict[str, str]:
    """Make the accounts and posts; returns the paths of the pages to weigh."""
    for name, admin in (("reader", True), ("writer", False), ("fan", False)):
        await asyncio.to_thread(_create_user, env, name, admin)
    writer, reader, fan = [await _browser(base, n) for n in ("writer", "reader", "fan")]
    writer_profile = await reader.get("/@writer")
    writer_id = re.search(r'action="/accounts/(\d+)/follow"', writer_profile.text)
    assert writer_id is not None
    for client in (reader, fan):
        await _form(client, f"/accounts/{writer_id.group(1)}/follow", do="follow")
    first = ""
    for i in range(19):
        text = (f"Note {i} from the allotment: the beans are up, the soil is dry and the #garden needs water. "
                f"@reader see https://example.org/notes/{i}")
        r = await _form(writer, "/statuses", status=text, visibility="public")
        first = first or r.headers["location"].split("#s")[-1]
    await _form(writer, "/statuses", status=PERSIAN, visibility="public")
    await _form(fan, "/statuses/act", do=f"favourite:{first}")
    await _form(fan, "/statuses", status="@writer Lovely beans!", in_reply_to_id=first)
    for c in (writer, reader, fan):
        await c.aclose()
    return {
        "home (20 posts)": "/", "local timeline": "/public/local", "federated timeline": "/public",
        "profile": "/@writer", "status with thread": f"/@writer/{first}", "hashtag": "/tags/garden",
        "notifications": "/notifications", "search": "/search?q=garden", "profile settings": "/settings/profile",
        "authorised apps": "/settings/applications", "admin": "/admin", "sign in (signed out)": "/auth/sign_in",
    }


async def weigh(base: str, pages: dict[str, str]) -> dict[str, Any]:
    reader = await _browser(base, "reader")
    anonymous = httpx.AsyncClient(base_url=base, timeout=30)
    css = len((await anonymous.get("/static/app.css")).content)
    js = len((await anonymous.get("/static/app.js")).content)
    out: dict[str, Any] = {"app_css_bytes": css, "app_js_bytes": js, "pages": {}}
    for name, path in pages.items():
        client = anonymous if "signed out" in name else reader
        for _ in range(20):  # the home feed fills as the job runner delivers
            r = await client.get(path)
            if name != "home (20 posts)" or r.text.count("<article") >= 20:
                break
            await asyncio.sleep(0.25)
        assets = re.findall(r'(?:href|src)="(/static/[^"]+\.(?:css|js))"', r.text)
        asset_bytes = 0
        for asset in assets:
            asset_bytes += len((await anonymous.get(asset)).content)
        out["pages"][name] = {"path": path, "status": r.status_code, "html_bytes": len(r.content),
                              "total_bytes": len(r.content) + asset_bytes, "posts": r.text.count("<article")}
    out["cookie"] = "; ".join(f"{k}={v}" for k, v in reader.cookies.items())
    await reader.aclose()
    await anonymous.aclose()
    return out


def _ms(value: str) -> float:
    number = float(re.sub(r"[a-z]+$", "", value))
    if value.endswith("us"):
        return number / 1000
    if value.endswith("ms"):
        return number
    if value.endswith("s"):
        return number * 1000
    return number


def load_run(base: str, cookie: str, workdir: Path, duration: float, connections: int) -> dict[str, Any]:
    script = workdir / "web.lua"
    script.write_text(WRK_SCRIPT)
    done = subprocess.run(
        ["wrk", "-t", "1", "-c", str(connections), "-d", f"{duration:g}s", "--latency", "-s", str(script), base + "/"],
        env={"BENCH_COOKIE": cookie, "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
        timeout=duration + 60,
    )
    text = done.stdout
    latency = dict(re.findall(r"^\s*(50|75|90|99)(?:\.0+)?%\s+([\d.]+[a-z]+)\s*$", text, re.M))
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if "50" not in latency or "99" not in latency or rps is None:
        raise RuntimeError(f"wrk gave no figures:\n{text}\n{done.stderr}")
    return {"p50_ms": round(_ms(latency["50"]), 2), "p99_ms": round(_ms(latency["99"]), 2),
            "rps": float(rps.group(1)), "non_2xx": int(errors.group(1)) if errors else 0}


async def run(args: Any) -> dict[str, Any]:
    result: dict[str, Any] = {"benchmark": "web_pages", "db": args.db, "workers": args.workers, "at": iso_now(),
                              "machine": machine_info()}
    bench = Bench("web_pages", args.db, args.workers, keep=args.keep, settings=server_settings(args.env))
    try:
        _db, raw = await bench.prepare()
        await raw.close()
        server = await bench.start_server()
        pages = await seed(server.base_url, bench.env())
        weights = await weigh(server.base_url, pages)
        cookie = weights.pop("cookie")
        result["weights"] = weights
        home = weights["pages"]["home (20 posts)"]
        result["home_total_bytes"] = home["total_bytes"]
        result["home_under_40kb"] = home["total_bytes"] < 40_000 and home["posts"] == 20
        if shutil.which("wrk") is None:
            result["load"] = "skipped: wrk is not installed (apt-get install -y wrk)"
            return result
        await asyncio.to_thread(load_run, server.base_url, cookie, bench.workdir, 3.0, args.connections)
        runs = []
        for i in range(args.runs):
            one = await asyncio.to_thread(load_run, server.base_url, cookie, bench.workdir, args.duration,
                                          args.connections)
            log(f"web_pages run {i + 1}: {one}")
            runs.append(one)
        result["home_render"] = {
            "connections": args.connections, "duration_s": args.duration,
            "p50_ms_median": median([r["p50_ms"] for r in runs]), "p99_ms_median": median([r["p99_ms"] for r in runs]),
            "rps_median": median([r["rps"] for r in runs]), "non_2xx_total": sum(r["non_2xx"] for r in runs),
            "runs": runs,
        }
        started = time.monotonic()
        async with httpx.AsyncClient(base_url=server.base_url, headers={"Cookie": cookie}) as c:
            for _ in range(50):
                await c.get("/")
        result["home_unloaded_ms_mean"] = round((time.monotonic() - started) * 1000 / 50, 2)
        result["server_log_errors"] = server.log_errors()
    except Exception as exc:
        result["error"] = f"{type(exc).__name__}: {exc}"
        log(f"web_pages failed: {result['error']}")
    finally:
        await bench.close()
    return result


def print_table(result: dict[str, Any]) -> None:
    weights = result.get("weights")
    if not weights:
        return
    print(f"{'page':<24} {'HTML bytes':>10} {'+CSS+JS':>9}", file=sys.stderr)
    for name, page in weights["pages"].items():
        print(f"{name:<24} {page['html_bytes']:>10} {page['total_bytes']:>9}", file=sys.stderr)
    render = result.get("home_render")
    if isinstance(render, dict):
        print(f"home under load: p50 {render['p50_ms_median']} ms, p99 {render['p99_ms_median']} ms, "
              f"{render['rps_median']} req/s, {render['non_2xx_total']} shed (503)", file=sys.stderr)


def main() -> None:
    parser = base_parser(__doc__ or "")
    add_server_settings(parser)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per measured run")
    args = parser.parse_args()
    result = asyncio.run(run(args))
    print_table(result)
    emit(result)


if __name__ == "__main__":
    main()
