"""A long run of a simulated floor: is anything lost, does anything grow?

Starts an embedded Redis, the callback service (reconciling every
EARPIECE_RECONCILE_SECONDS, 30 by default) and the simulator with about N
live calls (speech on), warms up until the first ended calls expire, then
runs for the given minutes. It prints Redis's
memory and the service's RSS at the start (after a warm-up), every few
minutes and at the end. Then the callbacks the simulator sent, dropped and
delivered, what the service applied, and the reconciler's repairs by kind.

Not in CI: 30 minutes by default.

    python -m bench.soak [--minutes 30] [--conferences 300] [--drop 0.0]

With --drop, the simulator loses that share of callbacks on purpose. The
repairs then match the drops that changed the floor: a dropped speech turn
leaves nothing to repair (the next turn overwrites it, and Twilio does not
list who is speaking), nor does a drop a later callback superseded before
the next pass.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import httpx
import redis

from bench.common import API_TOKEN
from bench.sim_floor import simulated_floor

WARM_UP_SECONDS = 60
REPORT_EVERY_SECONDS = 300
# Events whose loss leaves the floor wrong until the reconciler repairs it.
STATE_EVENTS = ("conference-start", "conference-end", "participant-join", "participant-leave",
                "participant-mute", "participant-unmute", "participant-hold",
                "participant-unhold", "participant-modify")  # fmt: skip


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def metrics(url: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for line in httpx.get(url + "/metrics", timeout=10).text.splitlines():
        if line.startswith("earpiece_") and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            out[key] = float(value)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--conferences", type=int, default=300)
    parser.add_argument("--drop", type=float, default=0.0)
    parser.add_argument("--reconcile-seconds", type=float, default=30)
    parser.add_argument(
        "--history-seconds",
        type=int,
        default=300,
        help="how long ended calls are kept (EARPIECE_HISTORY_SECONDS; the service's default is "
        "a day, which makes Redis grow by design for a day): the warm-up outlasts it",
    )
    args = parser.parse_args()

    with simulated_floor(
        "soak", args.conferences, EARPIECE_RECONCILE_SECONDS=str(args.reconcile_seconds),
        EARPIECE_HISTORY_SECONDS=str(args.history_seconds),
    ) as floor:  # fmt: skip
        rurl, service, sim_url = floor.redis_url, floor.service, floor.sim_url
        if args.drop:
            httpx.put(sim_url + "/sim/reliability", json={"drop": args.drop}, timeout=10)
        r = redis.Redis.from_url(rurl)
        # Past the first ended calls' expiry and a full feed: the steady state.
        time.sleep(max(WARM_UP_SECONDS, args.history_seconds + 60))
        pid = service.process.pid

        def sample(label: str) -> tuple[float, float]:
            memory = int(r.info("memory")["used_memory"]) / 2**20
            rss = rss_mib(pid)
            live = len(httpx.get(service.url + "/api/conferences", timeout=30, headers={
                "Authorization": f"Bearer {API_TOKEN}"}).json()["conferences"])  # fmt: skip
            print(f"  {label:>8}: Redis used_memory {memory:6.1f} MiB, service RSS {rss:6.1f} MiB,"
                  f" {live} live calls", flush=True)  # fmt: skip
            return memory, rss

        print(
            f"soak: ~{args.conferences} live calls with speech for {args.minutes:g} min, "
            f"drop {args.drop:.1%}, reconcile every {args.reconcile_seconds:g} s",
            flush=True,
        )
        start = sample("start")
        began = time.monotonic()
        last_report = began
        while time.monotonic() - began < args.minutes * 60:
            time.sleep(5)
            if time.monotonic() - last_report >= REPORT_EVERY_SECONDS:
                last_report = time.monotonic()
                sample(f"{(last_report - began) / 60:.0f} min")
        end = sample("end")
        # Stop losing callbacks, let the queue drain and one more pass run.
        httpx.put(sim_url + "/sim/reliability", json={"drop": 0.0}, timeout=10)
        time.sleep(args.reconcile_seconds + 5)
        stats = httpx.get(sim_url + "/sim/state", timeout=60).json()["callbacks"]
        seen = metrics(service.url)
        r.close()

    outcomes = stats.get("outcomes", {})
    repairs = {k.split('kind="')[1].rstrip('"}'): v for k, v in seen.items()
               if k.startswith("earpiece_reconciler_repairs_total")}  # fmt: skip
    state_drops = sum(stats.get(f"dropped:{e}", 0) for e in STATE_EVENTS)
    speech_drops = sum(v for k, v in stats.items() if k.startswith("dropped:participant-speech"))
    passes = {k: v for k, v in seen.items() if k.startswith("earpiece_reconciler_runs_total")}
    print(f"memory: Redis {start[0]:.1f} -> {end[0]:.1f} MiB "
          f"({(end[0] - start[0]) / start[0]:+.1%}), service RSS {start[1]:.1f} -> {end[1]:.1f} "
          f"MiB ({(end[1] - start[1]) / start[1]:+.1%})")  # fmt: skip
    # The floor keeps running while it is counted: what is still queued is not lost.
    pending = stats.get("pending", 0)
    lost = stats["sent"] - stats.get("delivered", 0) - stats.get("dropped", 0) - pending
    print(f"callbacks: sent {stats['sent']}, dropped on purpose {stats.get('dropped', 0)} "
          f"(state events {state_drops}, speech {speech_drops}), delivered "
          f"{stats.get('delivered', 0)}, in flight {pending}, failed {stats.get('failed', 0)}, "
          f"lost {lost}; "
          f"applied+unchanged+duplicate+stale {sum(outcomes.values())}")  # fmt: skip
    print(f"reconciler: passes {passes}; repairs {sum(repairs.values()):.0f} "
          f"{ {k: int(v) for k, v in sorted(repairs.items())} }")  # fmt: skip


if __name__ == "__main__":
    main()
