"""The media pipeline: processing time and peak memory of a 12-megapixel JPEG and of a 10-second
1080p video, and how long the upload request takes (it only receives the file; a job processes it).

Processing runs in a fresh child process per input (``produce``, the code the ``process_media`` job
runs), which reports its wall time, its own peak RSS and the peak RSS of the ffmpeg processes it ran.
The upload request is timed in process through the ASGI app (multipart parsing, sniffing, the copy
into the incoming area, the database write) on a fresh SQLite database, with jobs left queued.

    python -m bench.media --runs 3
"""

from __future__ import annotations

import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import base_parser, emit, log, machine_info, median

IMAGE_SIZE = (4000, 3000)  # 12 megapixels


def make_jpeg(path: Path) -> Path:
    from PIL import Image

    gradient = Image.linear_gradient("L").resize(IMAGE_SIZE)
    noise = Image.effect_noise(IMAGE_SIZE, 40)
    Image.merge("RGB", (gradient, noise, gradient.transpose(Image.Transpose.ROTATE_180))).save(
        path, "JPEG", quality=92)
    return path


def make_video(path: Path) -> Path:
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y",
                    "-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=30:duration=10",
                    "-f", "lavfi", "-i", "sine=frequency=440:duration=10",
                    "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p", "-c:a", "aac",
                    "-metadata", "location=+48.8584+002.2945/", str(path)], check=True)
    return path


def child(kind: str, source: Path) -> None:
    """Process one file as the job does and print the figures (run in a fresh process)."""
    from starling.config import Settings
    from starling.services.media.produce import produce
    from starling.services.media.setup import media_setup
    from starling.services.media.source import UploadSource, receive

    with tempfile.TemporaryDirectory() as tmp:
        setup = media_setup(Settings(data_dir=Path(tmp)))
        receive(UploadSource.from_path(source), setup.incoming_path(1), setup.limits)
        started = time.perf_counter()
        produced = produce(setup, 1, "bench", kind)
        seconds = time.perf_counter() - started
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tools = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_rss_mb": round(own, 1), "ffmpeg_peak_rss_mb": round(tools, 1),
                      "type": produced.type, "meta_original": produced.meta.get("original")}))


def measure_processing(kind: str, source: Path, runs: int) -> dict[str, Any]:
    results = []
    for _ in range(runs):
        done = subprocess.run([sys.executable, "-m", "bench.media", "--child", kind, str(source)],
                              capture_output=True, text=True, check=True)
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return {
        "input_mb": round(source.stat().st_size / 1024 / 1024, 2),
        "processing_s": round(median([r["seconds"] for r in results]), 3),
        "peak_rss_mb": max(r["peak_rss_mb"] for r in results),
        "ffmpeg_peak_rss_mb": max(r["ffmpeg_peak_rss_mb"] for r in results),
        "type": results[0]["type"],
        "original": results[0]["meta_original"],
    }


async def measure_upload(files: dict[str, Path], runs: int) -> dict[str, float]:
    import httpx

    from starling.adapters.db import unit_of_work
    from starling.bootstrap import build_container
    from starling.config import Settings
    from starling.db_migrate import upgrade
    from starling.domain.ids import new_id
    from starling.models import Application
    from starling.models.base import utcnow
    from starling.services.accounts.register_account import NewAccount, register_account
    from starling.services.oauth.issue_token import issue_token
    from starling.web.app import create_app

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), run_jobs_in_server=False, rate_limits_enabled=False,
                            admission_enabled=False)
        await asyncio.to_thread(upgrade, settings.effective_database_url)
        container = build_container(settings)
        async with unit_of_work(container.sessions) as session:
            _, user = await register_account(session, NewAccount(username="bench", email="bench@example.com",
                                                                 password="a long bench password"))
            app_row = Application(id=new_id(), name="bench", website=None, redirect_uris="urn:ietf:wg:oauth:2.0:oob",
                                  scopes="read write", client_id=f"bench-{new_id()}", client_secret="s",
                                  created_at=utcnow())
            session.add(app_row)
            await session.flush()
            _, token = await issue_token(session, application_id=app_row.id, user_id=user.id,
                                         scopes=["read", "write"])
        out: dict[str, float] = {}
        transport = httpx.ASGITransport(app=create_app(container=container))
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for name, path in files.items():
                data = path.read_bytes()
                timings = []
                for _ in range(runs + 1):
                    started = time.perf_counter()
                    r = await client.post("/api/v2/media", headers={"Authorization": f"Bearer {token}"},
                                          files={"file": (path.name, data, "application/octet-stream")})
                    timings.append(time.perf_counter() - started)
                    assert r.status_code == 202, r.text
                out[f"{name}_upload_ms"] = round(median(timings[1:]) * 1000, 1)
        await container.close()
    return out


def main() -> None:
    parser = base_parser(__doc__ or "")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "PATH"), help=argparse_hidden())
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return
    with tempfile.TemporaryDirectory() as tmp:
        log("making a 12-megapixel JPEG and a 10-second 1080p video")
        jpeg = make_jpeg(Path(tmp) / "photo.jpg")
        video = make_video(Path(tmp) / "clip.mp4")
        log("processing the JPEG")
        image = measure_processing("image", jpeg, args.runs)
        log("processing the video")
        clip = measure_processing("video", video, args.runs)
        log("timing upload requests")
        uploads = asyncio.run(measure_upload({"jpeg_12mp": jpeg, "video_1080p_10s": video}, args.runs))
    emit({"benchmark": "media", "runs": args.runs, "jpeg_12mp": image, "video_1080p_10s": clip, **uploads,
          "machine": machine_info()})


def argparse_hidden() -> str:
    import argparse

    return argparse.SUPPRESS


if __name__ == "__main__":
    main()
