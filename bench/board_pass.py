"""A 10,000-call floor whose calls speak: the board pass, read whole vs kept from the feed.

Builds N live calls (default 10,000) in Redis through the webhook's own apply script
(a caller and, for most, an agent of the demo roster; started over the last 30 minutes,
so most have a long-call alert and some wait or hold), then keeps R changes a second
(default 1,000: speech starts and stops, as a 10,000-call floor with speaker events
sends) flowing from a process of their own, and measures side by side in one run:

1. one process's board hub with five views (the five filters of bench/watchers.py),
   its pass (all views, once) p50 / p95 and the process's CPU: the pass that reads the
   whole floor every time (before issue 29) against the pass that keeps the floor from
   the change feed, in alternating rounds;
2. W protocol-level watchers (default 100) on `GET /events/board` of a real callback
   service, with each kind of hub (the old one by bench/full_read_board.py): how many
   were updated at least once a second, updates per second, the service's CPU;
3. Redis memory per live call.

Targets (issue 29): a board pass < 100 ms p95 at 10,000 calls (2,000 before: 72 ms);
every watcher updated at least once a second: hearing from its view, a `board` or an
`unchanged` (the view held as of a pass; a view whose rows move only with the clock changes
once a second, on the first pass after the second turns, so by boards alone its gaps are a
second and a little); the count by board events alone is printed beside it.

    python -m bench.board_pass [--conferences 10000] [--rate 1000] [--seconds 20]
                               [--watchers 100] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import multiprocessing
import random
import statistics
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx

from bench.common import API_TOKEN, callbacks_service, percentile, redis_url
from bench.sim_floor import cpu_seconds
from core.redis_client import RedisTarget, _is_cluster, async_client
from live.board import Filters
from live.board_hub import BoardHub
from live.events import parse_conference_event
from live.feed import FeedHub
from live.roster import load as load_roster
from live.store import LiveFloor

ANY_TIME = 2**62  # arrival time 0: the events carry their own Timestamp
VIEWS = ("", "&order=newest", "&order=longest&limit=50", "&state=hold", "&limit=500")
FILTERS = (
    Filters(),
    Filters(order="newest"),
    Filters(order="longest", limit=50),
    Filters(states=("hold",)),
    Filters(limit=500),
)
TARGET_P95_MS = 100
FIRST_VIEWS_SECONDS = 60.0  # the longest a service may take to give every watcher its view


@dataclass
class Call:
    sid: str
    name: str
    customer: str
    agent: str | None
    label: str | None
    seq: int = 0
    held: bool = False  # its caller is on hold: every participant event says so (Hold)

    def event(self, name: str, call: str | None, at: datetime, **extra: str) -> dict[str, str]:
        self.seq += 1
        params = {
            "AccountSid": "AC" + "0" * 32, "ConferenceSid": self.sid, "FriendlyName": self.name,
            "StatusCallbackEvent": name, "SequenceNumber": str(self.seq),
            "Timestamp": format_datetime(at),
        }  # fmt: skip
        if call is not None:
            params.update(
                CallSid=call, Muted="false", Hold="false", Coaching="false",
                EndConferenceOnExit="false", StartConferenceOnEnter="true",
                ParticipantLabel="customer" if call == self.customer else str(self.label),
            )  # fmt: skip
            if call == self.customer and self.held:
                params["Hold"] = "true"
        params.update(extra)
        return params


def floor_calls(n: int, rng: random.Random) -> tuple[list[Call], list[dict[str, str]]]:
    """N calls and the callbacks that make them: 90% with an agent, 5% of those on hold."""
    agents = sorted({a for team in load_roster(None).teams.values() for a in team.agents})
    now = datetime.now(UTC)
    calls, events = [], []
    for _ in range(n):
        sid = "CF" + uuid.uuid4().hex
        answered = rng.random() < 0.9
        agent = rng.choice(agents)
        call = Call(sid, "WT" + sid[-8:], "CA" + uuid.uuid4().hex,
                    "CA" + uuid.uuid4().hex if answered else None,
                    f"agent:{agent}" if answered else None)  # fmt: skip
        start = now - timedelta(seconds=rng.uniform(5, 1800))
        events.append(call.event("participant-join", call.customer, start))
        if call.agent is not None:
            events.append(call.event("participant-join", call.agent, start + timedelta(seconds=3)))
            events.append(call.event("conference-start", None, start + timedelta(seconds=3)))
            if rng.random() < 0.05:
                call.held = True
                events.append(call.event("participant-hold", call.customer,
                                         start + timedelta(seconds=60), Hold="true"))  # fmt: skip
        calls.append(call)
    return calls, events


async def fill(url: str, namespace: str, events: list[dict[str, str]]) -> tuple[int, float]:
    """Apply the callbacks; (bytes of Redis memory the floor took, seconds)."""
    redis = async_client(RedisTarget(url, _is_cluster(url), None))
    floor = LiveFloor(redis, namespace=namespace, roster=load_roster(None))
    before = (await redis.info("memory"))["used_memory"]
    parsed = [parse_conference_event(p, 0, max_skew_ms=ANY_TIME) for p in events]
    started = time.perf_counter()
    for i in range(0, len(parsed), 500):
        await asyncio.gather(*(floor.apply(e) for e in parsed[i : i + 500]))
    took = time.perf_counter() - started
    used = (await redis.info("memory"))["used_memory"] - before
    await redis.aclose()
    return used, took


def speak(url: str, namespace: str, calls: list[Call], rate: int, stop: Any, done: Any) -> None:
    """In a process of its own: `rate` speech starts and stops a second on answered calls."""

    async def run() -> None:
        redis = async_client(RedisTarget(url, _is_cluster(url), None))
        floor = LiveFloor(redis, namespace=namespace, roster=load_roster(None))
        rng = random.Random(7)
        answered = [c for c in calls if c.agent is not None]
        for c in answered:
            c.seq += 10  # after whatever the fill sent
        speaking: dict[tuple[str, str], bool] = {}
        tick, applied, started = 0.02, 0, time.monotonic()
        while not stop.is_set():
            due = int((time.monotonic() - started) * rate) - applied
            batch = []
            for _ in range(max(0, due)):
                c = rng.choice(answered)
                who = c.customer if rng.random() < 0.5 else str(c.agent)
                on = not speaking.get((c.sid, who), False)
                speaking[(c.sid, who)] = on
                kind = "participant-speech-start" if on else "participant-speech-stop"
                batch.append(c.event(kind, who, datetime.now(UTC)))
            parsed = [parse_conference_event(p, 0, max_skew_ms=ANY_TIME) for p in batch]
            await asyncio.gather(*(floor.apply(e) for e in parsed))
            applied += len(batch)
            await asyncio.sleep(tick)
        done.value = applied / (time.monotonic() - started)
        await redis.aclose()

    asyncio.run(run())


@dataclass
class Round:
    kind: str
    passes: list[float] = field(default_factory=list)
    loads: int = 0
    cpu: float = 0.0  # cores this process used meanwhile


async def hub_round(url: str, namespace: str, incremental: bool, seconds: float) -> Round:
    """One process's hub with the five views for `seconds` (after a warm-up)."""
    redis = async_client(RedisTarget(url, _is_cluster(url), None))
    floor = LiveFloor(redis, namespace=namespace, roster=load_roster(None))
    feed = FeedHub(floor)
    hub = BoardHub(floor, feed, period=0.5, mask=True, country="US", incremental=incremental)
    result = Round("kept from the feed" if incremental else "full read (before)")
    measuring = False
    real = hub.run_once

    async def timed(at_ms: int | None = None) -> None:
        await real(at_ms)
        if measuring:
            result.passes.append(hub.pass_ms)

    hub.run_once = timed  # type: ignore[method-assign]
    await feed.start()
    await hub.start()
    for filters in FILTERS:
        await hub.watch(filters)
    # The first pass reads the floor whole (both kinds): not what is measured.
    seen = 0
    while seen < 3:
        seen = await hub.next_pass(seen, 5)
    loads = hub.loads
    measuring, cpu, wall = True, time.process_time(), time.monotonic()
    await asyncio.sleep(seconds)
    measuring = False
    result.cpu = (time.process_time() - cpu) / (time.monotonic() - wall)
    result.loads = hub.loads - loads
    await hub.stop()
    await feed.stop()
    await redis.aclose()
    return result


@dataclass
class Crowd:
    """W watchers of `GET /events/board` on a loop of their own: when each heard from its
    view (a `board`, or `unchanged`: the view held as of a pass), and when each got a board."""

    url: str
    n: int
    times: list[list[float]] = field(default_factory=list)
    boards: list[list[float]] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self.times = [[] for _ in range(self.n)]
        self.boards = [[] for _ in range(self.n)]
        self.tasks = asyncio.run_coroutine_threadsafe(self._start(), self.loop).result()

    async def _start(self) -> list[asyncio.Task[None]]:
        limits = httpx.Limits(max_connections=500, max_keepalive_connections=500)
        self.http = httpx.AsyncClient(base_url=self.url, timeout=None, limits=limits)
        return [asyncio.create_task(self._watch(i)) for i in range(self.n)]

    async def _watch(self, i: int) -> None:
        try:
            await self._stream(i)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.failed.append(repr(exc)[:200])

    async def _stream(self, i: int) -> None:
        got = await self.http.post(
            "/api/events/ticket?stream=board", headers={"Authorization": f"Bearer {API_TOKEN}"}
        )
        path = f"/events/board?ticket={got.json()['ticket']}{VIEWS[i % len(VIEWS)]}"
        async with self.http.stream("GET", path) as r:
            assert r.status_code == 200, r.status_code
            async for chunk in r.aiter_bytes():
                boards = chunk.count(b"event: board")
                for _ in range(boards + chunk.count(b"event: unchanged")):
                    self.times[i].append(time.monotonic())
                for _ in range(boards):
                    self.boards[i].append(time.monotonic())

    def first_views(self, seconds: float) -> float:
        """Wait until every watcher has heard from its view (its first, whole, board), at
        most `seconds`; how long that took (a watcher that failed is not waited for)."""
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            if sum(not times for times in self.times) <= len(self.failed):
                break
            time.sleep(0.1)
        return time.monotonic() - started

    def stop(self) -> None:
        async def cancel() -> None:
            for task in self.tasks:
                task.cancel()
            await asyncio.gather(*self.tasks, return_exceptions=True)
            await self.http.aclose()

        asyncio.run_coroutine_threadsafe(cancel(), self.loop).result()
        self.loop.call_soon_threadsafe(self.loop.stop)


@dataclass
class Watching:
    kind: str
    max_gaps: list[float]
    rates: list[float]
    board_gaps: list[float]  # the same, counting `board` events only
    first: float  # seconds until every watcher had its first view
    cpu: float
    passes: list[float]
    failed: list[str]


def watch_round(url: str, namespace: str, n: int, seconds: float, old: bool) -> Watching:
    module = "bench.full_read_board" if old else "earpiece.cli"
    # Every watcher here is the service token, one "person": its fair share of streams and
    # tickets is lifted to the bench's hundred (as bench/watchers.py does); the reconciler
    # would ask a Twilio that is not there.
    fair = {"EARPIECE_STREAMS_PER_PERSON": "1000", "EARPIECE_TICKETS_PER_MINUTE": "10000",
            "EARPIECE_RECONCILE_SECONDS": "3600"}  # fmt: skip
    with callbacks_service(url, namespace, module=module, settings=fair) as service:
        crowd = Crowd(service.url, n)
        # Measured once every watcher has its first (whole) view: the service's start (its
        # hub reads the floor whole) is not its steady state, and is reported apart.
        first = crowd.first_views(FIRST_VIEWS_SECONDS)
        time.sleep(1)
        start, cpu = time.monotonic(), cpu_seconds(service.process.pid)
        passes = []
        while time.monotonic() - start < seconds:
            try:
                text = httpx.get(service.url + "/metrics", timeout=5).text
            except httpx.HTTPError:
                text = ""  # the service too busy to answer in time: a sample missed
            for line in text.splitlines():
                if line.startswith("earpiece_board_pass_seconds "):
                    passes.append(float(line.split()[1]) * 1000)
            time.sleep(0.25)
        end = time.monotonic()
        used = (cpu_seconds(service.process.pid) - cpu) / (end - start)
        crowd.stop()
    gaps, rates, board_gaps = [], [], []
    for times, boards in zip(crowd.times, crowd.boards, strict=True):
        seen = [start] + [t for t in times if start <= t <= end] + [end]
        gaps.append(max(b - a for a, b in itertools.pairwise(seen)))
        rates.append((len(seen) - 2) / (end - start))
        got = [start] + [t for t in boards if start <= t <= end] + [end]
        board_gaps.append(max(b - a for a, b in itertools.pairwise(got)))
    kind = "full read (before)" if old else "kept from the feed"
    return Watching(kind, gaps, rates, board_gaps, first, used, passes, crowd.failed)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--conferences", type=int, default=10_000)
    parser.add_argument("--rate", type=int, default=1000, help="changes a second")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--rounds", type=int, default=2, help="of each pass, alternating")
    parser.add_argument("--watchers", type=int, default=100)
    args = parser.parse_args()

    namespace = "bench" + uuid.uuid4().hex[:6]
    calls, events = floor_calls(args.conferences, random.Random(29))
    with redis_url() as url:
        used, took = asyncio.run(fill(url, namespace, events))
        print(f"floor: {args.conferences} live calls ({len(events)} callbacks applied in "
              f"{took:.1f} s); Redis memory {used / 2**20:.1f} MB, "
              f"{used / args.conferences / 1024:.1f} KB per live call (feed included)")  # fmt: skip
        context = multiprocessing.get_context("spawn")
        stop, done = context.Event(), context.Value("d", 0.0)
        changer = context.Process(
            target=speak, args=(url, namespace, calls, args.rate, stop, done), daemon=True
        )
        changer.start()
        try:
            rounds = []
            for _ in range(args.rounds):
                for incremental in (False, True):
                    rounds.append(asyncio.run(hub_round(url, namespace, incremental, args.seconds)))
            report(args, rounds, [])
            watching = []
            if args.watchers:
                for old in (True, False):
                    watching.append(watch_round(url, namespace, args.watchers, args.seconds, old))
        finally:
            stop.set()
            changer.join(30)
    print(f"changes applied meanwhile: {done.value:.0f} a second (asked {args.rate})")
    report(args, [], watching)


def report(args: Any, rounds: list[Round], watching: list[Watching]) -> None:
    if not rounds:
        report_watchers(args, watching)
        return
    print(
        f"\n1. board pass, one process, 5 views, {args.conferences} calls, {args.rate} "
        f"changes/s ({args.rounds} rounds of {args.seconds:.0f} s each, alternating)"
    )
    summary = {}
    for kind in ("full read (before)", "kept from the feed"):
        passes = [p for r in rounds if r.kind == kind for p in r.passes]
        cpu = statistics.mean(r.cpu for r in rounds if r.kind == kind)
        loads = sum(r.loads for r in rounds if r.kind == kind)
        p50, p95 = percentile(passes, 50), percentile(passes, 95)
        summary[kind] = (p50, p95, cpu, len(passes))
        per_round = ", ".join(f"{percentile(r.passes, 95):.0f}" for r in rounds if r.kind == kind)
        reads = f"  full reads while measuring: {loads}" if kind.startswith("kept") else ""
        print(
            f"  {kind:<20} pass p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  (p95 per round: "
            f"{per_round})  {len(passes)} passes  process CPU {cpu:.2f} cores{reads}"
        )
    (o50, o95, ocpu, on), (n50, n95, ncpu, nn) = summary.values()
    print(f"  ratio before/after: p50 {o50 / n50:.1f}x, p95 {o95 / n95:.1f}x; CPU "
          f"{ocpu / ncpu:.1f}x (passes {on} vs {nn}); target p95 < {TARGET_P95_MS} ms: "
          f"{'met' if n95 < TARGET_P95_MS else 'NOT met'}")  # fmt: skip
    report_watchers(args, watching)


def report_watchers(args: Any, watching: list[Watching]) -> None:
    if not watching:
        return
    print(f"\n2. {args.watchers} watchers of /events/board (5 views), a real callback service")
    for w in watching:
        every = sum(g <= 1.0 for g in w.max_gaps)
        boards = sum(g <= 1.0 for g in w.board_gaps)
        print(f"  {w.kind:<20} updated at least once a second: {every}/{len(w.max_gaps)} "
              f"(by board events alone: {boards}); "
              f"longest gap p50 {statistics.median(w.max_gaps):.2f} s, max "
              f"{max(w.max_gaps):.2f} s; updates/s min {min(w.rates):.1f} median "
              f"{statistics.median(w.rates):.1f}; service CPU {w.cpu:.2f} cores; "
              f"every watcher's first view after {w.first:.1f} s; "
              f"pass (sampled) p50 {percentile(w.passes, 50):.0f} ms "
              f"p95 {percentile(w.passes, 95):.0f} ms")  # fmt: skip
        if w.failed:
            print(f"    {len(w.failed)} watchers failed, e.g. {w.failed[0]}")


if __name__ == "__main__":
    main()
