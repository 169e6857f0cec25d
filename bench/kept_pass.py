"""The kept floor's pass, CPU first: this revision's `live/board_floor.py` beside an earlier one.

On a shared 2-core machine a pass's wall time is mostly the machine's load; its CPU is
what the code costs. Builds N live calls (default 10,000, bench/board_pass.py's floor)
in Redis through the webhook's own apply script, loads them into two kept floors (this
revision's and `--before`'s module, read from git), then, step after step: R speech starts
and stops (default 500, a half-second pass's worth at 1,000 a second) applied through the
script, each changed document handed to both floors, the clock moved half a second, and
one pass of each (refresh, the five views of bench/board_pass.py, KPIs, cues and legs),
timed in CPU and wall time, in alternating order. Prints p50 / p95 of each, and the ratios;
and what handing a changed document over (`put`, what following the feed costs a
change) takes in CPU.

    python -m bench.kept_pass [--conferences 10000] [--changes 500] [--steps 40]
                              [--before REVISION]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import random
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import orjson

from bench.board_pass import ANY_TIME, FILTERS, TARGET_P95_MS, fill, floor_calls
from bench.common import percentile, redis_url
from core.redis_client import RedisTarget, async_client
from live import board_floor
from live.events import parse_conference_event
from live.roster import load as load_roster
from live.store import LiveFloor, now_ms

BEFORE = "ba1ba26"  # the kept floor before its rows and orders followed only what moved
REPO = Path(__file__).resolve().parent.parent


def module_at(revision: str) -> ModuleType:
    """live/board_floor.py as it was at `revision` (its imports are today's modules)."""
    source = subprocess.run(["git", "show", f"{revision}:live/board_floor.py"], cwd=REPO,
                            check=True, capture_output=True, text=True).stdout  # fmt: skip
    spec = importlib.util.spec_from_loader("board_floor_before", loader=None)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    exec(compile(source, f"{revision}:live/board_floor.py", "exec"), module.__dict__)
    return module


def one_pass(kept: Any, at: int) -> tuple[float, float]:
    """One pass as the hub makes it; its CPU and wall time in ms."""
    started, wall = time.process_time(), time.perf_counter()
    kept.refresh(at)
    for filters in FILTERS:
        kept.shown(filters)
    kept.kpis()
    kept.cues()
    kept.monitors()
    return (time.process_time() - started) * 1000, (time.perf_counter() - wall) * 1000


Times = dict[str, list[tuple[float, float]]]  # name -> (CPU ms, wall ms) per pass


async def run(
    url: str, namespace: str, calls: list[Any], args: Any
) -> tuple[Times, dict[str, list[float]]]:
    redis = async_client(RedisTarget(url, False, None))
    floor = LiveFloor(redis, namespace=namespace, roster=load_roster(None))
    kinds = {"before": module_at(args.before).BoardFloor, "now": board_floor.BoardFloor}
    floors = {name: kind(floor, True, "US", 1.0) for name, kind in kinds.items()}
    for sid, score, raw in await floor.live_documents():
        doc = orjson.loads(raw)
        for kept in floors.values():
            kept.put(doc, (score, sid))
    at = now_ms()
    for kept in floors.values():
        one_pass(kept, at)  # the first pass makes every view's order: not measured
    rng = random.Random(7)
    answered = [c for c in calls if c.agent is not None]
    speaking: dict[tuple[str, str], bool] = {}
    cpu: Times = {name: [] for name in floors}
    # The CPU µs a changed document costs as the feed's reader hands it over (`put`), each
    # step: what every process that follows the feed pays a change, between passes.
    following: dict[str, list[float]] = {name: [] for name in floors}
    for step in range(args.steps):
        batch = []
        for _ in range(args.changes):
            c = rng.choice(answered)
            who = c.customer if rng.random() < 0.5 else str(c.agent)
            on = not speaking.get((c.sid, who), False)
            speaking[(c.sid, who)] = on
            kind = "participant-speech-start" if on else "participant-speech-stop"
            batch.append(c.event(kind, who, datetime.fromtimestamp(at / 1000, UTC)))
        events = [parse_conference_event(p, 0, max_skew_ms=ANY_TIME) for p in batch]
        await asyncio.gather(*(floor.apply(e) for e in events))
        docs = await floor.documents(sorted({p["ConferenceSid"] for p in batch}))
        at += 500
        order = list(floors) if step % 2 == 0 else list(reversed(floors))
        for name in order:
            started = time.process_time()
            for doc in docs.values():
                floors[name].put(doc)
            taken = (time.process_time() - started) * 1e6 / max(1, len(docs))
            following[name].append(taken)
            cpu[name].append(one_pass(floors[name], at))
    await redis.aclose()
    return cpu, following


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--conferences", type=int, default=10_000)
    parser.add_argument("--changes", type=int, default=500, help="between two passes")
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--before", default=BEFORE)
    args = parser.parse_args()
    calls, events = floor_calls(args.conferences, random.Random(29))
    with redis_url() as url:
        namespace = "kept" + uuid.uuid4().hex[:6]
        asyncio.run(fill(url, namespace, events))
        cpu, following = asyncio.run(run(url, namespace, calls, args))
    print(f"kept floor pass: {args.conferences} calls, {args.changes} speech changes "
          f"between passes, half a second apart (every other pass turns a second: each "
          f"ticking row's reasons move), five views; {args.steps} passes each, "
          f"alternating")  # fmt: skip
    for kind, index in (("CPU", 0), ("wall", 1)):
        of = {name: [t[index] for t in times] for name, times in cpu.items()}
        for name, label in (("before", f"before ({args.before})"), ("now", "this revision")):
            print(f"  {kind:<4} {label:<24} p50 {percentile(of[name], 50):6.1f} ms  "
                  f"p95 {percentile(of[name], 95):6.1f} ms")  # fmt: skip
        b95, n95 = percentile(of["before"], 95), percentile(of["now"], 95)
        b50, n50 = percentile(of["before"], 50), percentile(of["now"], 50)
        met = "met" if n95 < TARGET_P95_MS else "NOT met"
        print(f"  {kind:<4} ratio before/now: p50 {b50 / n50:.2f}x, p95 {b95 / n95:.2f}x; "
              f"target p95 < {TARGET_P95_MS} ms: {met}")  # fmt: skip
    b, n = (percentile(following[name], 50) for name in ("before", "now"))
    print(f"  following the feed, CPU a changed document (put), p50: before {b:.1f} µs, "
          f"this revision {n:.1f} µs ({b / n:.2f}x)")  # fmt: skip


if __name__ == "__main__":
    main()
