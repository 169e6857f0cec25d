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
and as CPU microseconds per request; and what the other endpoints' servers took
meanwhile (`others`: the Earpiece services idle but for their own jobs, the ticker,
the board and the archive of the calls that ended, which a baseline's run shares
the machine with). After each Earpiece run the calls it left live are ended
(`hang_up`), so each run starts on the floor the first one did.

Twice by default, with two client concurrencies (`--connections 32,256`), each a
table of its own with every endpoint in the same rounds:

- 32 connections, issue 29's measurement: a closed loop in which each connection
  sends its next callback only when the last one is answered. A server that waits
  on a round trip (Earpiece answers once its batch is applied in Redis) idles while
  every connection waits on it, so this measures the client's concurrency as much
  as the server; the bare app and the floor are busy all the time at 32.
- 256 connections: enough that every endpoint's server is busy all the time here
  (the `server cores` column says so; a table whose servers are not all at >= 0.9
  of a core says that too): each one's capacity. Twilio sends a callback when its
  event happens, not when the callback before it was answered, so a floor's load is
  open, and what decides whether Earpiece keeps up is its capacity.

    python -m bench.ingest [--seconds 5] [--rounds 3] [--connections 32,256]
                           [--workers 1,2] [--instances 2] [--before REV] [--live 1]
                           [--speech 4]
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
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
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
from core.keys import Keys

PATH = "/twilio/conference-events"
# Speech turns a call (13 callbacks a call), the mix every earlier figure was measured with.
# A real call with speaker events sends one every second or two, a few hundred over a few
# minutes: `--speech 100` (205 a call) is nearer, and ends a call (its end's apply, the
# coach's look at it, its archive) 16 times less often a callback.
SPEECH_TURNS = 4
HERE = Path(__file__).parent


def write_requests(
    base_url: str, count: int, folder: Path, live: int = 1, speech: int = SPEECH_TURNS
) -> Path:
    """`count` callbacks of conferences `live` at a time (bench/common.py interleaved), each
    call two legs and `speech` speech turns (a start and a stop each).

    Dated from now (the file is written just before its run), as Twilio dates a callback
    when it sends it. Dated an hour back, every call whose agent had not joined yet, or
    whose first events fell before wrk's starting line, was alone for an hour by its own
    clock, and the guard (coach/guard.py) asked Twilio to end it: 63 REST calls in a 6 s
    `--live 1000` run (none dated from now), each a thread, an audit entry and a log line,
    that no real floor makes."""
    floor = Floor(base_url, start=datetime.now(UTC).replace(microsecond=0))
    path = folder / f"callbacks-{uuid.uuid4().hex[:6]}.tsv"
    conferences = (floor.conference(participants=2, speech_pairs=speech) for _ in itertools.count())
    with path.open("w") as out:
        for params in itertools.islice(interleaved(conferences, live), count):
            signature, body = floor.signed(params)
            out.write(f"{signature}\t{body}\n")
    return path


def hang_up(service: Service, redis: str, namespace: str) -> int:
    """End, with a signed `conference-end`, every conference a run left live on the floor.

    wrk stops mid-file, so with `--live N` each run leaves about N calls in progress, and
    each further run N more: without this, the floor the services' once-a-second jobs walk
    grows run after run (34,000 live calls after one bench), and so does the CPU they take
    while the next endpoint (a baseline too) is measured. How many were ended."""
    client = redis_sync.Redis.from_url(redis, decode_responses=True)
    try:
        live: list[str] = list(client.zrange(Keys(namespace).live, 0, -1))  # type: ignore[arg-type]
    finally:
        client.close()
    floor = Floor(service.url)
    # After every event of the run's conferences (dated from their file's writing, a second
    # each: write_requests), well within the service's accepted skew.
    end = datetime.now(UTC) + timedelta(minutes=10)
    with httpx.Client(base_url=service.url, timeout=30) as http:
        for sid in live:
            signature, body = floor.signed(floor.event(sid, "conference-end", 100_000, end))
            answer = http.post(
                PATH,
                content=body,
                headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    "X-Twilio-Signature": signature,
                },
            )
            answer.raise_for_status()
    return len(live)


# Quiet: the services and Redis together under this share of a core over a window longer
# than the period of their once-a-second jobs (the archive takes 100 ended calls a pass, a
# pass a second: a shorter window can fall between two passes of a backlog).
QUIET_CORES = 0.1
QUIET_WINDOW_SECONDS = 2.5
QUIET_TIMEOUT_SECONDS = 180.0


def settle(pids: list[int]) -> float:
    """Wait until these processes are quiet (the services' own jobs done: the archive of the
    calls the last run ended above all), so no run shares the machine with the one before;
    how long it took (at most QUIET_TIMEOUT_SECONDS)."""
    started = time.monotonic()
    while time.monotonic() - started < QUIET_TIMEOUT_SECONDS:
        before = cpu_seconds(pids)
        time.sleep(QUIET_WINDOW_SECONDS)
        if (cpu_seconds(pids) - before) / QUIET_WINDOW_SECONDS < QUIET_CORES:
            break
    return time.monotonic() - started


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
    # of the other endpoints' servers, idle meanwhile but for their own once-a-second jobs
    # (the Earpiece services': the ticker, the board, the archive of the calls that ended)
    others_cpu: float = 0.0

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
    connections: int,
    others: list[int],
) -> None:
    """One run: a wrk each service at once, the connections shared among them (several
    instances, as several machines would run, get `connections` between them, as one
    service with several workers does)."""
    pids = [pid for service in services for pid in process_tree(service.process.pid)]
    server0, others0 = cpu_seconds(pids), cpu_seconds(others)
    redis0 = cpu_seconds([redis]) if redis else 0.0
    each = max(1, connections // len(services))
    with ThreadPoolExecutor(len(services)) as pool:
        runs = list(
            pool.map(
                lambda job: wrk(job[0].url, job[1], args.seconds, each),
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
    row.others_cpu += cpu_seconds(others) - others0
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
    parser.add_argument(
        "--connections",
        default="32,256",
        help="wrk's connections, comma-separated: a table each (shared by --instances)",
    )
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
        "--speech", type=int, default=SPEECH_TURNS, help="speech turns a call (each 2 callbacks)"
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
    concurrencies = [int(n) for n in args.connections.split(",") if n]

    folder = Path(tempfile.mkdtemp(prefix="ep-bench-"))
    tables: list[tuple[int, list[Row]]] = []
    waited = 0.0  # for the machine to be quiet before runs (settle)
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
            baseline_file = write_requests(
                services[0].url, args.requests, folder, args.live, args.speech
            )
            # (name, its services, the floor's namespace: None for a baseline)
            endpoints: list[tuple[str, list[Service], str | None]] = [
                ("bare Starlette (204)", [stack.enter_context(bare_service())], None),
                (
                    "signature + 1 write",
                    [stack.enter_context(signed_write_service(redis, services[0].url))],
                    None,
                ),
            ]
            for workers, service in zip(counts, services, strict=True):
                name = f"earpiece, {workers} worker{'s' if workers > 1 else ''}"
                endpoints.append((name, [service], namespace))
            if args.instances > 1:
                endpoints.append((f"earpiece, {args.instances} instances", instances, namespace))
            if args.before:
                # Its own floor (namespace): the same callbacks, applied once each, by each.
                source = stack.enter_context(source_at(args.before))
                before = stack.enter_context(
                    callbacks_service(redis, "before" + namespace, checkout=source)
                )
                endpoints.append((f"earpiece at {args.before[:9]}", [before], "before" + namespace))
            everyone = [
                pid
                for _, targets, _ in endpoints
                for service in targets
                for pid in process_tree(service.process.pid)
            ] + ([pid] if pid else [])
            for connections in concurrencies:
                by_name = {name: Row(name) for name, _, _ in endpoints}
                for round_ in range(args.rounds):
                    start = round_ % len(endpoints)
                    for name, targets, floor in endpoints[start:] + endpoints[:start]:
                        # Quiet first, then the run's files: they are dated from their
                        # writing, and a wait after it would date them back again (the guard
                        # ends a call alone for 20 s).
                        waited += settle(everyone)
                        files = [baseline_file]
                        if floor:  # each callback applied once: fresh files every run
                            files = [
                                write_requests(t.url, args.requests, folder, args.live, args.speech)
                                for t in targets
                            ]
                        others = [
                            pid
                            for _, bystanders, _ in endpoints
                            for service in bystanders
                            if service not in targets
                            for pid in process_tree(service.process.pid)
                        ]
                        measure(by_name[name], targets, files, args, pid, connections, others)
                        if floor:
                            for file in files:
                                file.unlink()
                            hang_up(targets[0], redis, floor)
                tables.append((connections, [by_name[name] for name, _, _ in endpoints]))
            live = [live_conferences(service) for service in services]
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    for connections, rows in tables:
        report(rows, connections, args)
    print(f"live conferences after the earpiece runs: {live}")
    print(f"waited {waited:.0f} s in all for the services and Redis to be quiet before runs")
    failed = sorted({row.name for _, rows in tables for row in rows if row.total("errors_status")})
    if failed:
        sys.exit(f"non-2xx answers during the run: {', '.join(failed)}")


# A server at this share of a core or more is taken as busy all the time (saturated).
SATURATED_CORES = 0.9


def report(rows: list[Row], connections: int, args: argparse.Namespace) -> None:
    print(
        f"\ningest: {args.rounds} rounds of {args.seconds}s each, {connections} connections, "
        f"wrk -t1, distinct signed conference callbacks of {args.live} live conference(s) "
        f"interleaved, {args.speech} speech turns a call, {os.cpu_count()} cores"
    )
    print(
        f"{'endpoint':<24}{'req/s':>8}{'p50 ms':>8}{'p99 ms':>8}{'non-2xx':>8}"
        f"{'server':>8}{'redis':>7}{'wrk':>6}{'others':>7}{'server':>8}{'redis':>7}"
    )
    print(f"{'':<56}{'cores (CPU s / s)':^28}{'CPU us / req':^15}")
    for row in rows:
        print(
            f"{row.name:<24}{row.rps:>8.0f}{row.median('p50_us') / 1000:>8.2f}"
            f"{row.median('p99_us') / 1000:>8.2f}{row.total('errors_status'):>8.0f}"
            f"{row.cores(row.server_cpu):>8}{row.cores(row.redis_cpu):>7}"
            f"{row.cores(row.total('wrk_cpu')):>6}{row.cores(row.others_cpu):>7}"
            f"{row.us_per_request(row.server_cpu):>8}"
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
    # A round runs every endpoint within a few minutes (each run waits for a quiet machine
    # first, then takes seconds); on a machine whose speed drifts
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
    idle = [
        f"{row.name} {row.cores(row.server_cpu)}"
        for row in rows[:3]
        if row.server_cpu / row.seconds < SATURATED_CORES
    ]
    if idle:
        # Idle part of the time: every connection was waiting on it. More callbacks in
        # flight would have got more out of it, so its req/s here is below its capacity.
        print(
            f"not busy all the time at {connections} connections (server cores): "
            f"{'; '.join(idle)}: its req/s is bounded by the clients' concurrency, "
            "below its capacity"
        )
    else:
        print(f"every server busy all the time at {connections} connections: their capacity")


if __name__ == "__main__":
    main()
