"""Running the floor (issue 27): three targets, each beside a baseline, in one run.

1. state: an agent's activity change visible on every open board < 1 s p95 after Twilio's
   event. A real `earpiece callbacks` process; `--boards` open boards on the queues stream
   (/events/board?queues=1, what the Agents page, the Queues page and the wallboard draw
   from; raw sockets); a signed `worker.activity.update` posted at a time, and the `queues`
   event that carries it timed at every board. Baseline: the same with one board.
2. cards: the Agents page's cards for 1,000 agents drawn < 1 s: the service's pass that
   feeds every watcher's cards (live/queues.py `snapshot`, with the after-call changes,
   encoded once) plus the page's choice of agents (dashboard/agent_cards.py); the browser
   draws the cards from that stream without a rerun per watcher
   (tests/chromium/test_agents_browser.py).
   Baseline: the same for 100 agents.
3. day: the Day page's numbers and charts for 50 queues < 500 ms from the archive of a
   90-day, million-call floor (SQLite, as embedded): Store.day_slots (one grouped query
   read from the calls_day index alone), merge, the chart specs; and each team's occupancy
   and agents by activity per half hour (Store.team_slots of 90 days of team totals, read by
   its key's day; live/team_time.py's rows; the two charts). Baseline: the same query on the
   table itself (NOT INDEXED: a scan of every call, as before that index); and the queues'
   charts without the teams', beside the whole page, for what the teams' part adds.

    python -m bench.floor_ops [--boards 20] [--changes 50] [--calls 1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import orjson

from bench.common import API_TOKEN, AUTH_TOKEN, callbacks_service, percentile, redis_url
from callbacks.signature import compute
from core import times
from core.redis_client import RedisTarget, async_client

TOKYO = ZoneInfo("Asia/Tokyo")
WS = "WS" + "0" * 32
ACCOUNT = "AC" + "0" * 32


# -- 1. an agent's state on every board -------------------------------------------------


async def _board(host: str, port: int, seen: list[float], ready: asyncio.Event) -> None:
    """One open board: the queues stream the Agents page, the Queues page and the wallboard
    draw from (a one-time ticket, as a browser gets one), noting each `queues` event."""
    import httpx

    async with httpx.AsyncClient(base_url=f"http://{host}:{port}") as http:
        answer = await http.post("/api/events/ticket?stream=board",
                                 headers={"Authorization": f"Bearer {API_TOKEN}"})  # fmt: skip
        ticket = answer.json()["ticket"]
    reader, writer = await asyncio.open_connection(host, port)
    path = f"/events/board?ticket={ticket}&board=off&queues=1"
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    await writer.drain()
    await reader.readuntil(b"\r\n\r\n")
    ready.set()
    while data := await reader.read(1 << 16):
        now = time.monotonic()
        seen.extend(now for _ in range(data.count(b"event: queues")))


async def _state(url: str, boards: int, changes: int) -> list[float]:
    import httpx

    host, port = url.removeprefix("http://").split(":")
    seen: list[list[float]] = [[] for _ in range(boards)]
    readies = [asyncio.Event() for _ in range(boards)]
    tasks = [asyncio.create_task(_board(host, int(port), seen[i], readies[i]))
             for i in range(boards)]  # fmt: skip
    await asyncio.gather(*(r.wait() for r in readies))
    await asyncio.sleep(0.5)
    for s in seen:
        s.clear()
    latencies: list[float] = []
    path = "/twilio/taskrouter-events"
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        for n in range(changes):
            at = int(time.time() * 1000)
            params = {
                "EventType": "worker.activity.update", "AccountSid": ACCOUNT, "WorkspaceSid": WS,
                "WorkspaceName": "bench", "EventDescription": "x", "ResourceType": "Worker",
                "ResourceSid": "WK" + "1" * 32, "Timestamp": str(at // 1000),
                "TimestampMs": str(at), "Sid": "EV" + uuid.uuid4().hex,
                "WorkerSid": "WK" + "1" * 32, "WorkerName": "bob",
                "WorkerActivityName": "Break" if n % 2 else "Available",
                "WorkerActivitySid": "WA" + "2" * 32,
            }  # fmt: skip
            body = urlencode(params)
            signature = compute(AUTH_TOKEN.encode(), url + path, params.items())
            before = [len(s) for s in seen]
            started = time.monotonic()
            answer = await http.post(path, content=body, headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": signature})  # fmt: skip
            assert answer.status_code == 204, answer.text
            deadline = started + 5
            while any(len(s) <= b for s, b in zip(seen, before, strict=True)):
                assert time.monotonic() < deadline, "a board never saw the change"
                await asyncio.sleep(0.002)
            latencies.extend(s[b] - started for s, b in zip(seen, before, strict=True))
    for task in tasks:
        task.cancel()
    return latencies


def state(boards: int, changes: int) -> dict[int, list[float]]:
    out: dict[int, list[float]] = {}
    with redis_url() as redis:
        for count in (1, boards):
            namespace = "fo" + uuid.uuid4().hex[:8]
            with callbacks_service(redis, namespace, TWILIO_WORKSPACE_SID=WS) as service:
                out[count] = asyncio.run(_state(service.url, count, changes))
    return out


# -- 2. the cards of 1,000 agents --------------------------------------------------------


async def _cards(redis: str, agents: int, rounds: int) -> list[float]:
    from dashboard import agent_cards
    from live.queues import LiveQueues, QueuePolicy
    from live.roster import Supervisor
    from live.roster import load as load_roster
    from live.taskrouter_events import TaskRouterEvent

    client = async_client(RedisTarget(redis, False, None))
    try:
        queues = LiveQueues(client, namespace="fc" + uuid.uuid4().hex[:8],
                            roster=load_roster(None), policy=QueuePolicy(TOKYO))  # fmt: skip
        now = int(time.time() * 1000)
        rng = random.Random(agents)
        for i in range(agents):
            await queues.apply(TaskRouterEvent(
                kind="worker.activity.update", at_ms=now - rng.randrange(1, 3_600_000),
                workspace_sid=WS, worker_sid=f"WK{i:032x}", worker_name=f"agent{i}",
                activity=rng.choice(["Available", "Break", "Offline", "研修"])))  # fmt: skip
        manager = Supervisor(id="mina", name="Mina", role="manager", teams=(), endpoint="x")
        times = []
        for _ in range(rounds):
            # The service's pass for every watcher (BoardHub: the queues and agents, encoded
            # once), then the page's own choice of agents for its controls.
            started = time.perf_counter()
            listed, rows = await queues.snapshot()
            message = orjson.dumps({"queues": listed, "agents": rows})
            cards = agent_cards.choose(agent_cards.visible(manager, rows), agent_cards.ALL,
                                       agent_cards.ALL, time.time())  # fmt: skip
            times.append(time.perf_counter() - started)
            assert len(cards) == agents and message
        return times
    finally:
        await client.aclose()


def cards(rounds: int) -> dict[int, list[float]]:
    with redis_url() as redis:
        return {n: asyncio.run(_cards(redis, n, rounds)) for n in (100, 1000)}


# -- 3. the day's charts from a 90-day million-call archive --------------------------------


def _archive(path: Path, calls: int, queues: int) -> None:
    """A 90-day floor ending now, with the store's own schema (archive/sqlite_store.py)."""
    from archive.sqlite_store import SqliteStore

    asyncio.run(SqliteStore(path).close())  # makes the schema as the store does
    db = sqlite3.connect(path)
    rng = random.Random(calls)
    end = int(time.time() * 1000)
    start = end - 90 * 86_400_000
    doc = orjson.dumps({"sid": "x"})
    batch = []
    for i in range(calls):
        began = rng.randrange(start, end)
        length = rng.randrange(30, 900)
        batch.append((f"CF{i:032x}", began, began + length * 1000, length, "sales-east",
                      f"queue-{rng.randrange(queues):02d}", "bob", ",,", 0, "", doc))  # fmt: skip
        if len(batch) == 50_000:
            db.executemany("INSERT INTO calls (sid, started_ms, ended_ms, duration_s, team, queue,"
                           " agent, alerts, monitored, text, doc) VALUES "
                           "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", batch)  # fmt: skip
            batch.clear()
    if batch:
        db.executemany("INSERT INTO calls (sid, started_ms, ended_ms, duration_s, team, queue, "
                       "agent, alerts, monitored, text, doc) VALUES "
                       "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", batch)  # fmt: skip
    # Each team's time per half hour for the same 90 days (live/team_time.py's kinds).
    kinds = ("talk", "wrap", "a:Available", "a:Break", "a:Offline", "a:Unavailable")
    days = [(datetime.now(TOKYO) - timedelta(days=n)).date().isoformat() for n in range(91)]
    db.executemany(
        "INSERT INTO team_slots (day, team, slot, kind, ms) VALUES (?, ?, ?, ?, ?)",
        [(d, team, slot, kind, rng.randrange(1, 6 * 1_800_000)) for d in days for team in TEAMS
         for slot in range(48) for kind in kinds],
    )  # fmt: skip
    db.commit()
    db.close()


TEAMS = ("billing", "jp-support", "sales-east", "sales-west", "support")


def day(calls: int, queues: int, rounds: int) -> dict[str, list[float]]:
    from archive.sqlite_store import SqliteStore
    from archive.store import SLOT_MS
    from dashboard import day_charts
    from live import day as day_model
    from live import team_time

    folder = Path(tempfile.mkdtemp(prefix="ep-bench-day-", dir="/tmp"))
    path = folder / "archive.sqlite3"
    made = time.perf_counter()
    _archive(path, calls, queues)
    print(f"  (archive of {calls:,} calls over 90 days made in "
          f"{time.perf_counter() - made:.0f} s)")  # fmt: skip
    yesterday = (datetime.now(TOKYO) - timedelta(days=1)).date().isoformat()
    lo, hi = times.day_bounds(yesterday, TOKYO)

    def charts(archived: list[tuple[str, int, int, int]]) -> None:
        rows = [r.json(0.8) for r in day_model.merge({}, archived)]
        assert len({r["queue"] for r in rows}) == queues
        shown = day_charts.combine(rows, day_charts.ALL_QUEUES)
        for chart in (day_charts.volume_chart(shown), day_charts.times_chart(shown),
                      day_charts.service_level_chart(shown, 0.8)):  # fmt: skip
            assert chart is not None  # (None: nothing to draw; the bench's day has data)
            chart.to_dict()

    available = {"Available": True, "Break": False, "Offline": False, "Unavailable": False}

    def team_charts(totals: list[tuple[str, int, str, int]]) -> None:
        rows = [r.json(available) for r in team_time.slots_of(team_time.fields_of(totals))]
        assert len({r["team"] for r in rows}) == len(TEAMS)
        shown = day_charts.combine_teams(rows, day_charts.ALL_TEAMS)
        for chart in (day_charts.occupancy_chart(shown),
                      day_charts.agents_by_activity_chart(shown)):  # fmt: skip
            assert chart is not None
            chart.to_dict()

    query_only: list[float] = []
    queues_only: list[float] = []
    teams_part: list[float] = []

    async def ours() -> list[float]:
        store = SqliteStore(path)
        times = []
        try:
            for _ in range(rounds):
                started = time.perf_counter()
                archived = await store.day_slots(lo, hi)
                query_only.append(time.perf_counter() - started)
                charts(archived)
                queues_only.append(time.perf_counter() - started)
                teams_started = time.perf_counter()
                team_charts(await store.team_slots(yesterday))
                teams_part.append(time.perf_counter() - teams_started)
                times.append(time.perf_counter() - started)
        finally:
            await store.close()
        return times

    def scan() -> list[float]:
        db = sqlite3.connect(path)
        times = []
        for _ in range(max(3, rounds // 4)):
            started = time.perf_counter()
            rows = db.execute(
                "SELECT coalesce(queue, ''), (started_ms - ?) / ?, count(*), sum(duration_s) "
                "FROM calls NOT INDEXED WHERE started_ms >= ? AND started_ms < ? GROUP BY 1, 2",
                (lo, SLOT_MS, lo, hi)).fetchall()  # fmt: skip
            charts([(str(q), int(s), int(n), int(t)) for q, s, n, t in rows])
            times.append(time.perf_counter() - started)
        db.close()
        return times

    try:
        baseline, mine = scan(), asyncio.run(ours())
        return {"scan of every call (baseline)": baseline,
                "queues' charts only (baseline)": queues_only,
                "whole page: queues + teams (ours)": mine,
                "  of which the calls query": query_only,
                "  of which the teams' part": teams_part}  # fmt: skip
    finally:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


def _ms(values: list[float]) -> str:
    return (
        f"p50 {percentile(values, 50) * 1000:7.1f} ms   p95 {percentile(values, 95) * 1000:7.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--boards", type=int, default=20)
    parser.add_argument("--changes", type=int, default=50)
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--queues", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--only", choices=["state", "cards", "day"], default=None)
    args = parser.parse_args()
    if args.only in (None, "state"):
        print(f"1. an agent's change on every open board (target < 1 s p95), "
              f"{args.changes} changes")  # fmt: skip
        for count, values in state(args.boards, args.changes).items():
            print(f"  {count:4d} board(s)  {_ms(values)}")
    if args.only in (None, "cards"):
        print("2. the cards view: the stream's pass + the page's choice (target < 1 s)")
        for count, values in cards(args.rounds).items():
            print(f"  {count:5d} agents  {_ms(values)}")
    if args.only in (None, "day"):
        print(f"3. the day's charts, {args.queues} queues, 90-day archive (target < 500 ms)")
        for name, values in day(args.calls, args.queues, args.rounds).items():
            print(f"  {name:34s} {_ms(values)}")


if __name__ == "__main__":
    main()
