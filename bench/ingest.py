"""Callback ingest throughput: `earpiece callbacks` against two baselines, same uvicorn.

All are driven by wrk over loopback with the same distinct, validly signed
conference callbacks (replayed from a file; Earpiece gets each once), one
after the other in one run:

- bare Starlette: reads the body, answers 204 (bench/bare_app.py);
- signature + one write: bare Starlette doing Earpiece's signature check and
  one pipelined Redis write per request (bench/signed_write_app.py), the floor
  of this design;
- `earpiece callbacks`, one worker, then each `--workers N` asked for.

Prints requests/s, p50/p99 latency, the ratios, and what of the machine each
took: CPU seconds of the server's processes, of Redis and of wrk over the run,
as cores (CPU seconds a second) and as CPU microseconds per request.

    python -m bench.ingest [--seconds 10] [--connections 32] [--workers 1,2]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import redis as redis_sync

from bench.common import (
    API_TOKEN,
    Floor,
    Service,
    bare_service,
    callbacks_service,
    cpu_seconds,
    process_tree,
    redis_url,
    signed_write_service,
)

PATH = "/twilio/conference-events"
HERE = Path(__file__).parent


def write_requests(base_url: str, count: int, folder: Path) -> Path:
    floor = Floor(base_url)
    path = folder / f"callbacks-{uuid.uuid4().hex[:6]}.tsv"
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
    """Replay the signed requests of `requests_file` to `url` + `path` (each sent once).
    Adds `rps` and `wrk_cpu` (wrk's own CPU seconds)."""
    if shutil.which("wrk") is None:
        raise SystemExit("bench needs wrk (Debian: apt-get install wrk)")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", str(HERE / "replay.lua"),
         url + path, "--", path, str(requests_file)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    summary["rps"] = summary["requests"] / summary["seconds"]
    summary["wrk_cpu"] = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return summary


@dataclass
class Row:
    name: str
    result: dict[str, float]
    server_cpu: float  # CPU seconds of the server's processes during the run
    redis_cpu: float | None  # of the Redis server (None: not on this machine)

    def cores(self, cpu: float | None) -> str:
        return "-" if cpu is None else f"{cpu / self.result['seconds']:.2f}"

    def us_per_request(self, cpu: float | None) -> str:
        return "-" if cpu is None else f"{cpu / self.result['requests'] * 1e6:.0f}"


def redis_pid(url: str) -> int | None:
    """The Redis server's pid when it runs on this machine (the embedded one does)."""
    client = redis_sync.Redis.from_url(url)
    try:
        pid = int(client.info("server")["process_id"])
    finally:
        client.close()
    return pid if Path(f"/proc/{pid}").exists() else None


def measure(
    name: str,
    service: Service,
    requests_file: Path,
    args: argparse.Namespace,
    redis: int | None,
) -> Row:
    pids = process_tree(service.process.pid)
    server0 = cpu_seconds(pids)
    redis0 = cpu_seconds([redis]) if redis else 0.0
    result = wrk(service.url, requests_file, args.seconds, args.connections)
    server = cpu_seconds(pids) - server0
    return Row(name, result, server, cpu_seconds([redis]) - redis0 if redis else None)


@contextlib.contextmanager
def earpiece(redis: str, namespace: str, workers: int) -> Iterator[Service]:
    with callbacks_service(redis, namespace, workers=workers) as service:
        yield service


def live_conferences(service: Service) -> int:
    floor = httpx.get(
        service.url + "/api/conferences", headers={"Authorization": f"Bearer {API_TOKEN}"}
    ).json()["conferences"]
    return len(floor)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--requests", type=int, default=250_000, help="distinct callbacks prepared")
    parser.add_argument(
        "--workers", default="1,2", help="earpiece runs: worker counts, comma-separated"
    )
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",") if n]

    folder = Path(tempfile.mkdtemp(prefix="ep-bench-"))
    rows: list[Row] = []
    live: list[int] = []
    try:
        with redis_url() as redis:
            pid = redis_pid(redis)
            namespace = "bench" + uuid.uuid4().hex[:6]
            for i, workers in enumerate(counts):
                with earpiece(redis, namespace, workers) as service:
                    requests_file = write_requests(service.url, args.requests, folder)
                    if i == 0:
                        # The baselines get the same requests, signed for this service's URL.
                        with bare_service() as bare:
                            rows.append(
                                measure("bare Starlette (204)", bare, requests_file, args, pid)
                            )
                        with signed_write_service(redis, service.url) as signed:
                            rows.append(
                                measure("signature + 1 write", signed, requests_file, args, pid)
                            )
                    name = f"earpiece, {workers} worker{'s' if workers > 1 else ''}"
                    rows.append(measure(name, service, requests_file, args, pid))
                    live.append(live_conferences(service))
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    print(
        f"ingest: {args.seconds}s each, {args.connections} connections, wrk -t1, "
        f"distinct signed conference callbacks, {os.cpu_count()} cores"
    )
    print(
        f"{'endpoint':<24}{'req/s':>8}{'p50 ms':>8}{'p99 ms':>8}{'non-2xx':>8}"
        f"{'server':>8}{'redis':>7}{'wrk':>6}{'server':>8}{'redis':>7}"
    )
    print(f"{'':<56}{'cores (CPU s / s)':^21}{'CPU us / req':^15}")
    for row in rows:
        r = row.result
        print(
            f"{row.name:<24}{r['rps']:>8.0f}{r['p50_us'] / 1000:>8.2f}{r['p99_us'] / 1000:>8.2f}"
            f"{r['errors_status']:>8}{row.cores(row.server_cpu):>8}{row.cores(row.redis_cpu):>7}"
            f"{row.cores(r['wrk_cpu']):>6}{row.us_per_request(row.server_cpu):>8}"
            f"{row.us_per_request(row.redis_cpu):>7}"
        )
    bare, signed, ours = rows[0], rows[1], rows[2]
    rps = ours.result["rps"]
    print(
        f"earpiece 1 worker / bare Starlette:        {rps / bare.result['rps']:.0%}"
        "   (target >= 35%, aim 50%)"
    )
    print(
        f"earpiece 1 worker / signature + 1 write:   {rps / signed.result['rps']:.0%}"
        "   (target >= 80%)"
    )
    for row in rows[3:]:
        print(f"{row.name} / 1 worker:{'':<8}{row.result['rps'] / rps:.2f}x")
    print(f"live conferences after each earpiece run: {live}")
    failed = [row.name for row in rows if row.result["errors_status"]]
    if failed:
        sys.exit(f"non-2xx answers during the run: {', '.join(failed)}")


if __name__ == "__main__":
    main()
