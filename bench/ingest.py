"""Callback ingest throughput: `earpiece callbacks` against two baselines, same uvicorn.

All are driven by wrk over loopback with the same distinct, validly signed
conference callbacks (replayed from a file; Earpiece gets each once, a fresh
file every round), one after the other, in rounds: each round runs every
endpoint once, starting one further along, so a neighbour's load that comes
and goes on a shared machine falls on all of them alike. The endpoints:

- bare Starlette: reads the body, answers 204 (bench/bare_app.py);
- signature + one write: bare Starlette doing Earpiece's signature check and
  one pipelined Redis write per request (bench/signed_write_app.py), the floor
  of this design;
- `earpiece callbacks`, one worker, then each `--workers N` asked for;
- `--instances N` one-worker services on the one Redis, as N machines would
  run them, a wrk each, the connections shared among them;
- `--before REV`: one worker of the code at that revision (git archive), on a
  floor of its own on the same Redis, to measure a change beside its baseline.

Prints requests/s over all rounds, the median round's p50/p99 latency, the
ratios, and what of the machine each took: CPU seconds of the server's
processes, of Redis and of wrk over its runs, as cores (CPU seconds a second)
and as CPU microseconds per request.

    python -m bench.ingest [--seconds 5] [--rounds 3] [--connections 32] [--workers 1,2]
                           [--instances 2] [--before REV] [--live 1]
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
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
    interleaved,
    process_tree,
    redis_url,
    signed_write_service,
    source_at,
)

PATH = "/twilio/conference-events"
HERE = Path(__file__).parent


def write_requests(base_url: str, count: int, folder: Path, live: int = 1) -> Path:
    """`count` callbacks of conferences `live` at a time (bench/common.py interleaved)."""
    floor = Floor(base_url)
    path = folder / f"callbacks-{uuid.uuid4().hex[:6]}.tsv"
    conferences = (floor.conference(participants=2, speech_pairs=4) for _ in itertools.count())
    with path.open("w") as out:
        for params in itertools.islice(interleaved(conferences, live), count):
            signature, body = floor.signed(params)
            out.write(f"{signature}\t{body}\n")
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
    summary: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    summary["rps"] = summary["requests"] / summary["seconds"]
    summary["wrk_cpu"] = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return summary


@dataclass
class Row:
    name: str
    runs: list[dict[str, float]] = field(default_factory=list)
    server_cpu: float = 0.0  # CPU seconds of the server's processes during its runs
    redis_cpu: float | None = 0.0  # of the Redis server (None: not on this machine)

    @property
    def requests(self) -> float:
        return sum(r["requests"] for r in self.runs)

    @property
    def seconds(self) -> float:
        return sum(r["seconds"] for r in self.runs)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def total(self, name: str) -> float:
        return sum(r[name] for r in self.runs)

    def median(self, name: str) -> float:
        return statistics.median(r[name] for r in self.runs)

    def cores(self, cpu: float | None) -> str:
        return "-" if cpu is None else f"{cpu / self.seconds:.2f}"

    def us_per_request(self, cpu: float | None) -> str:
        return "-" if cpu is None else f"{cpu / self.requests * 1e6:.0f}"


def redis_pid(url: str) -> int | None:
    """The Redis server's pid when it runs on this machine (the embedded one does)."""
    client = redis_sync.Redis.from_url(url)
    try:
        pid = int(client.info("server")["process_id"])
    finally:
        client.close()
    return pid if Path(f"/proc/{pid}").exists() else None


def measure(
    row: Row,
    services: list[Service],
    requests_files: list[Path],
    args: argparse.Namespace,
    redis: int | None,
) -> None:
    """One run: a wrk each service at once, the connections shared among them (several
    instances, as several machines would run, get `connections` between them, as one
    service with several workers does)."""
    pids = [pid for service in services for pid in process_tree(service.process.pid)]
    server0 = cpu_seconds(pids)
    redis0 = cpu_seconds([redis]) if redis else 0.0
    connections = max(1, args.connections // len(services))
    with ThreadPoolExecutor(len(services)) as pool:
        runs = list(
            pool.map(
                lambda job: wrk(job[0].url, job[1], args.seconds, connections),
                zip(services, requests_files, strict=True),
            )
        )
    row.runs.append(
        {
            "requests": sum(r["requests"] for r in runs),
            "seconds": max(r["seconds"] for r in runs),
            "errors_status": sum(r["errors_status"] for r in runs),
            "p50_us": max(r["p50_us"] for r in runs),
            "p99_us": max(r["p99_us"] for r in runs),
            "wrk_cpu": sum(r["wrk_cpu"] for r in runs),
        }
    )
    row.server_cpu += cpu_seconds(pids) - server0
    if redis and row.redis_cpu is not None:
        row.redis_cpu += cpu_seconds([redis]) - redis0
    else:
        row.redis_cpu = None


def live_conferences(service: Service) -> int:
    floor = httpx.get(
        service.url + "/api/conferences", headers={"Authorization": f"Bearer {API_TOKEN}"}
    ).json()["conferences"]
    return len(floor)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=5, help="each endpoint, each round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--requests", type=int, default=150_000, help="distinct callbacks prepared a run"
    )
    parser.add_argument(
        "--live",
        type=int,
        default=1,
        help="conferences whose callbacks are interleaved, as that many live calls send "
        "them (default 1: one conference's after the other)",
    )
    parser.add_argument(
        "--workers", default="1,2", help="earpiece runs: worker counts, comma-separated"
    )
    parser.add_argument(
        "--instances",
        type=int,
        default=2,
        help="and a run of this many one-worker services on one Redis (as machines would)",
    )
    parser.add_argument(
        "--before",
        default=None,
        help="and a run of one worker of the code at this revision (git archive), beside",
    )
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",") if n]

    folder = Path(tempfile.mkdtemp(prefix="ep-bench-"))
    rows: list[Row] = []
    live: list[int] = []
    try:
        with redis_url() as redis, contextlib.ExitStack() as stack:
            pid = redis_pid(redis)
            namespace = "bench" + uuid.uuid4().hex[:6]
            services = [
                stack.enter_context(callbacks_service(redis, namespace, workers=workers))
                for workers in counts
            ]
            # Several instances on one Redis, as several machines would run them.
            instances = [services[0]] + [
                stack.enter_context(callbacks_service(redis, namespace))
                for _ in range(args.instances - 1)
            ]
            # The baselines get the same requests, signed for the first service's URL.
            baseline_file = write_requests(services[0].url, args.requests, folder, args.live)
            endpoints: list[tuple[Row, list[Service], bool]] = [
                (Row("bare Starlette (204)"), [stack.enter_context(bare_service())], False),
                (
                    Row("signature + 1 write"),
                    [stack.enter_context(signed_write_service(redis, services[0].url))],
                    False,
                ),
            ]
            for workers, service in zip(counts, services, strict=True):
                name = f"earpiece, {workers} worker{'s' if workers > 1 else ''}"
                endpoints.append((Row(name), [service], True))
            if args.instances > 1:
                endpoints.append((Row(f"earpiece, {args.instances} instances"), instances, True))
            if args.before:
                # Its own floor (namespace): the same callbacks, applied once each, by each.
                source = stack.enter_context(source_at(args.before))
                before = stack.enter_context(
                    callbacks_service(redis, "before" + namespace, checkout=source)
                )
                endpoints.append((Row(f"earpiece at {args.before[:9]}"), [before], True))
            for round_ in range(args.rounds):
                start = round_ % len(endpoints)
                for row, targets, fresh in endpoints[start:] + endpoints[:start]:
                    files = [baseline_file]
                    if fresh:  # each callback applied once: fresh files every run
                        files = [
                            write_requests(t.url, args.requests, folder, args.live) for t in targets
                        ]
                    measure(row, targets, files, args, pid)
                    if fresh:
                        for file in files:
                            file.unlink()
            rows = [row for row, _, _ in endpoints]
            live = [live_conferences(service) for service in services]
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    print(
        f"ingest: {args.rounds} rounds of {args.seconds}s each, {args.connections} connections, "
        f"wrk -t1, distinct signed conference callbacks of {args.live} live conference(s) "
        f"interleaved, {os.cpu_count()} cores"
    )
    print(
        f"{'endpoint':<24}{'req/s':>8}{'p50 ms':>8}{'p99 ms':>8}{'non-2xx':>8}"
        f"{'server':>8}{'redis':>7}{'wrk':>6}{'server':>8}{'redis':>7}"
    )
    print(f"{'':<56}{'cores (CPU s / s)':^21}{'CPU us / req':^15}")
    for row in rows:
        print(
            f"{row.name:<24}{row.rps:>8.0f}{row.median('p50_us') / 1000:>8.2f}"
            f"{row.median('p99_us') / 1000:>8.2f}{row.total('errors_status'):>8.0f}"
            f"{row.cores(row.server_cpu):>8}{row.cores(row.redis_cpu):>7}"
            f"{row.cores(row.total('wrk_cpu')):>6}{row.us_per_request(row.server_cpu):>8}"
            f"{row.us_per_request(row.redis_cpu):>7}"
        )
    bare, signed, ours = rows[0], rows[1], rows[2]
    # (the first Earpiece row is the first count of --workers: 1 unless asked otherwise)
    print(f"{ours.name} / bare Starlette:        {ours.rps / bare.rps:.0%}"
          "   (target for one worker >= 35%, aim 50%)")  # fmt: skip
    print(f"{ours.name} / signature + 1 write:   {ours.rps / signed.rps:.0%}"
          "   (target for one worker >= 80%)")  # fmt: skip
    for row in rows[3:]:
        print(f"{row.name} / {ours.name}:{'':<4}{row.rps / ours.rps:.2f}x")
    if args.before:
        then = rows[-1]
        print(f"{ours.name} beside {then.name}: {ours.rps / then.rps:.2f}x req/s, "
              f"{then.us_per_request(then.server_cpu)} -> {ours.us_per_request(ours.server_cpu)} "
              "us of service CPU a callback")  # fmt: skip
    # A round runs every endpoint within half a minute; on a machine whose speed drifts
    # (a shared host: the same code's CPU a callback moved 2x between rounds) the ratio of
    # each round is steadier than the ratio of the totals.
    by_round = [
        (run["requests"] / run["seconds"]) / (b["requests"] / b["seconds"])
        for run, b in zip(ours.runs, bare.runs, strict=True)
    ]
    by_round_floor = [
        (run["requests"] / run["seconds"]) / (f["requests"] / f["seconds"])
        for run, f in zip(ours.runs, signed.runs, strict=True)
    ]
    print(f"{ours.name}, each round's ratio: of bare "
          f"{', '.join(f'{r:.0%}' for r in by_round)} (median {statistics.median(by_round):.0%}); "
          f"of the floor {', '.join(f'{r:.0%}' for r in by_round_floor)} "
          f"(median {statistics.median(by_round_floor):.0%})")  # fmt: skip
    per_round = ", ".join(
        "/".join(f"{run['requests'] / run['seconds']:.0f}" for run in row.runs) for row in rows
    )
    print(f"req/s each round (bare, signature + write, earpiece...): {per_round}")
    print(f"live conferences after the earpiece runs: {live}")
    failed = [row.name for row in rows if row.total("errors_status")]
    if failed:
        sys.exit(f"non-2xx answers during the run: {', '.join(failed)}")


if __name__ == "__main__":
    main()
