"""Callback ingest throughput: `earpiece callbacks` vs a bare Starlette endpoint, same uvicorn.

Both are driven by wrk over loopback with the same distinct, validly signed
conference callbacks (replayed from a file, each sent once), one after the
other in one run. Prints requests/s, p50/p99 latency and the ratio.

    python -m bench.ingest [--seconds 10] [--connections 50]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import httpx

from bench.common import API_TOKEN, Floor, bare_service, callbacks_service, redis_url

PATH = "/twilio/conference-events"
HERE = Path(__file__).parent


def write_requests(base_url: str, count: int, folder: Path) -> Path:
    floor = Floor(base_url)
    path = folder / "callbacks.tsv"
    written = 0
    with path.open("w") as out:
        while written < count:
            for params in floor.conference(participants=2, speech_pairs=4):
                signature, body = floor.signed(params)
                out.write(f"{signature}\t{body}\n")
                written += 1
    return path


def wrk(
    url: str, requests_file: Path, seconds: int, connections: int, path: str = PATH
) -> dict[str, float]:
    """Replay the signed requests of `requests_file` to `url` + `path` (each sent once)."""
    if shutil.which("wrk") is None:
        raise SystemExit("bench needs wrk (Debian: apt-get install wrk)")
    result = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", str(HERE / "replay.lua"),
         url + path, "--", path, str(requests_file)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    summary["rps"] = summary["requests"] / summary["seconds"]
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--requests", type=int, default=250_000, help="distinct callbacks prepared")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="ep-bench-"))
    try:
        with redis_url() as redis:
            namespace = "bench" + uuid.uuid4().hex[:6]
            with callbacks_service(redis, namespace) as service:
                requests_file = write_requests(service.url, args.requests, folder)
                with bare_service() as bare:
                    base = wrk(bare.url, requests_file, args.seconds, args.connections)
                ours = wrk(service.url, requests_file, args.seconds, args.connections)
                floor = httpx.get(
                    service.url + "/api/conferences",
                    headers={"Authorization": f"Bearer {API_TOKEN}"},
                ).json()["conferences"]
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    print(
        f"ingest: {args.seconds}s each, {args.connections} connections, wrk -t1, one uvicorn worker"
    )
    print(f"{'endpoint':<34}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'non-2xx':>10}")
    for name, r in (
        ("bare Starlette (read body, 204)", base),
        ("earpiece callbacks (signed)", ours),
    ):
        print(f"{name:<34}{r['rps']:>10.0f}{r['p50_us'] / 1000:>10.2f}{r['p99_us'] / 1000:>10.2f}"
              f"{r['errors_status']:>10}")  # fmt: skip
    ratio = ours["rps"] / base["rps"]
    print(f"ratio earpiece/bare: {ratio:.0%}   (target >= 35%, aim 50%)")
    distinct = min(ours["requests"], args.requests)
    print(f"distinct callbacks sent: {distinct:.0f}; live conferences after: {len(floor)}")
    if ours["errors_status"]:
        sys.exit("earpiece answered non-2xx during the run")


if __name__ == "__main__":
    main()
