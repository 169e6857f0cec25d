"""Japanese transcript ingest beside conference callbacks, with and without the analyser's own
process (issue 23), side by side in one run.

Two services on one Redis, the same roster (bench.transcript's: Japanese and English phrases,
one exclusion), 200 live calls each: `earpiece callbacks` as it is, and the same with every
line analysed inside the service (bench/analysed_here.py). wrk replays distinct signed
callbacks (each sent once, each round its own) in alternating rounds: conference callbacks
and Japanese transcription callbacks (two partials and a final per line) to each service.
Prints requests/s per round, each service's Japanese/conference ratio (target >= 100%), and
the service's own CPU per request (from /proc: what the webhook costs, whatever else the
machine is doing).

Each round's work is done before the next begins: the service works on after its
callbacks were answered (the archiver records each call a conference callback ended,
archive/archiver.py's SETTLE_SECONDS after it ended; the board hub's passes), and the
rounds alternate, so without a wait a conference round's archiving ran in the Japanese
round after it (in its requests/s and CPU). A round's CPU per request counts the service's
CPU until it is quiet again: each kind pays for the work it leaves behind.

    python -m bench.japanese_ingest [--calls 200] [--rounds 4] [--round-seconds 6]
                                    [--before /path/to/checkout] [--only-before]

`--before`: a third service, run from another checkout (the code before a change), in the
same alternating rounds; `--only-before`: that one instead of the analysed-here service.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path

from archive.archiver import SETTLE_SECONDS
from bench.common import callbacks_service, cpu_seconds, redis_url
from bench.ingest import wrk
from bench.transcript import BENCH_ROSTER, CONFERENCE_PATH, TRANSCRIPT_PATH, Calls, write_files

QUIET_CPU = 0.05  # of a core, over QUIET_SECONDS: the service has done what a round left
QUIET_SECONDS = 1.5  # longer than the archiver's pause between its passes (EVERY_SECONDS)


def settle(pid: int) -> None:
    """Wait until the service has done the work a round left behind: past the archiver's
    settle time, then until its CPU is quiet (at most a minute)."""
    started = time.monotonic()
    time.sleep(SETTLE_SECONDS + 1)
    while time.monotonic() - started < 60:
        before = cpu_seconds([pid])
        time.sleep(QUIET_SECONDS)
        if cpu_seconds([pid]) - before < QUIET_CPU * QUIET_SECONDS:
            return


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--round-seconds", type=int, default=6)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--before", help="a checkout whose service runs beside, as `before`")
    parser.add_argument("--only-before", action="store_true", help="no analysed-here service")
    parser.add_argument(
        "--no-settle", action="store_true", help="next round at once (leftovers run in it)"
    )
    args = parser.parse_args()
    kinds: list[tuple[str, str, str | None]] = [("process", "earpiece.cli", None)]
    if not args.only_before:
        kinds.append(("here", "bench.analysed_here", None))
    if args.before:
        kinds.append(("before", "earpiece.cli", args.before))

    loads = os.getloadavg()
    folder = Path(tempfile.mkdtemp(prefix="ep-bench-"))
    rps: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}
    try:
        roster = folder / "roster.toml"
        roster.write_text(BENCH_ROSTER, encoding="utf-8")
        with redis_url() as redis, contextlib.ExitStack() as stack:
            services = {}
            for name, module, checkout in kinds:
                namespace = "bja" + uuid.uuid4().hex[:6]
                service = stack.enter_context(callbacks_service(
                    redis, namespace, module=module, checkout=checkout,
                    EARPIECE_ROSTER=str(roster)))  # fmt: skip
                calls = Calls(service.url, args.calls)
                calls.seed()
                services[name] = (service, calls)
            for n in range(args.rounds + 1):  # the first round warms up (the worker starts)
                for name, (service, calls) in services.items():
                    conference, _, japanese = write_files(calls, folder / f"{name}{n}", 60_000)
                    for kind, file, path in (("conference", conference, CONFERENCE_PATH),
                                             ("japanese", japanese, TRANSCRIPT_PATH)):  # fmt: skip
                        before = cpu_seconds([service.process.pid])
                        result = wrk(service.url, file, args.round_seconds, args.connections, path)
                        if not args.no_settle:
                            settle(service.process.pid)
                        used = cpu_seconds([service.process.pid]) - before
                        if result["errors_status"]:
                            raise SystemExit(f"{name} {kind}: non-2xx answers during the run")
                        if n:
                            rps.setdefault(f"{name} {kind}", []).append(result["rps"])
                            cpu.setdefault(f"{name} {kind}", []).append(
                                used / result["requests"] * 1e6
                            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    def mean(values: list[float]) -> float:
        return sum(values) / len(values)

    print(f"Japanese ingest: {args.calls} live calls per service, wrk -c{args.connections}, "
          f"{args.rounds} alternating rounds of {args.round_seconds} s"
          f"{', no settling' if args.no_settle else ''}; load average "
          f"{loads[0]:.1f} at start, {os.getloadavg()[0]:.1f} at end")  # fmt: skip
    for key, values in rps.items():
        print(f"  {key:<22} {', '.join(f'{v:.0f}' for v in values)} req/s   "
              f"service CPU {mean(cpu[key]):.0f} µs a request")  # fmt: skip
    labels = {"process": "analyser in its own process", "here": "analysed in the service",
              "before": f"the service of {args.before}"}  # fmt: skip
    for name, _, _ in kinds:
        label = labels[name]
        ratio = mean(rps[f"{name} japanese"]) / mean(rps[f"{name} conference"])
        cost = mean(cpu[f"{name} japanese"]) / mean(cpu[f"{name} conference"])
        print(
            f"  {label}: Japanese / conference callbacks {ratio:.0%} (target >= 100%); "
            f"CPU a Japanese callback / a conference callback {cost:.0%}"
        )


if __name__ == "__main__":
    main()
