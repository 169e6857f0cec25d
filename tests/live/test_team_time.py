"""Each team's occupancy and agents by activity per half hour (issue 27 §5, live/team_time.py):
a simulated floor's worker and reservation events posted through the real signed webhook, out
of order and some twice, give the Day page's rows and charts equal to totals counted by hand
(second by second, in the floor's zone); the archive's copy gives the same once Redis has
forgotten them, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest

from archive.archiver import copy_team_time
from core.redis_client import RedisTarget, async_client
from dashboard import day_charts
from live import day as day_model
from live import team_time
from live.queues import LiveQueues, QueuePolicy
from live.roster import load as load_roster
from tests.conftest import ACCOUNT_SID, make_settings
from tests.helpers import ServerThread, post_signed

TOKYO = ZoneInfo("Asia/Tokyo")
WS = "WS" + "0" * 32
# bob and carol are sales-east's, nick support's; zed is on no team.
WORKERS = {"bob": "sales-east", "carol": "sales-east", "nick": "support", "zed": ""}
ACTIVITIES = ("Available", "Break", "Offline")
HOURS = 10


@pytest.fixture
def service(redis_target: RedisTarget, namespace: str) -> Iterator[ServerThread]:
    from earpiece.service import create_app

    port = ServerThread.free_port()
    settings = make_settings(redis_target.url, namespace, f"http://127.0.0.1:{port}",
                             EARPIECE_TIMEZONE="Asia/Tokyo")  # fmt: skip
    thread = ServerThread(create_app(settings, redis_target), port, settings)
    thread.start()
    yield thread
    thread.stop()


class Day:
    """A floor's last HOURS hours, second by second: the events TaskRouter would post, and
    what each team did in each half hour, counted without live/team_time.py."""

    def __init__(self, rng: random.Random, end_s: int) -> None:
        self.truth: Counter[tuple[str, str, int, str]] = Counter()  # day, team, slot, kind
        self.events: list[dict[str, str]] = []
        self.end_s = end_s
        self.last: dict[str, tuple[str, int]] = {}  # worker -> (activity, since)
        start = end_s - HOURS * 3600
        for n, (agent, team) in enumerate(WORKERS.items()):
            sid = "WK" + format(n + 1, "032x")
            activity, since = "Offline", start
            at = start + rng.randrange(60, 600)
            while at < end_s - 1800:
                self._count(team, "a:" + activity, since, at)
                nxt = rng.choice([a for a in ACTIVITIES if a != activity])
                self._worker_event(sid, agent, "worker.activity.update", at, nxt,
                                   previous=(activity, at - since))  # fmt: skip
                activity, since = nxt, at
                length = rng.randrange(600, 3600)
                if activity == "Available":
                    at = self._calls(rng, sid, agent, team, at, at + length)
                else:
                    at += length
            self.last[agent] = (activity, since)

    def _count(self, team: str, kind: str, start: int, end: int) -> None:
        for second in range(start, end):
            local = datetime.fromtimestamp(second, TOKYO)
            slot = local.hour * 2 + local.minute // 30
            self.truth[(local.strftime("%Y-%m-%d"), team, slot, kind)] += 1

    def _calls(self, rng: random.Random, sid: str, agent: str, team: str, at: int,
               until: int) -> int:  # fmt: skip
        """Calls taken while Available (TaskRouter keeps the worker there while on them)."""
        while True:
            accepted = at + rng.randrange(30, 400)
            talk, wrap = rng.randrange(60, 900), rng.choice([0, rng.randrange(5, 200)])
            done = accepted + talk + wrap
            if done >= until:
                return max(at, until)
            res = f"WR{len(self.events):032x}"
            self._count(team, "talk", accepted, accepted + talk)
            self._reservation_event(sid, agent, "reservation.accepted", accepted, res)
            if wrap:
                self._count(team, "wrap", accepted + talk, done)
                self._reservation_event(sid, agent, "reservation.wrapup", accepted + talk, res)
            self._reservation_event(sid, agent, "reservation.completed", done, res)
            at = done

    def _common(self, kind: str, at: int, sid: str, agent: str) -> dict[str, str]:
        return {
            "EventType": kind, "AccountSid": ACCOUNT_SID, "WorkspaceSid": WS,
            "Timestamp": str(at), "TimestampMs": str(at * 1000),
            "WorkerSid": sid, "WorkerName": agent,
            "WorkerAttributes": orjson.dumps({"contact_uri": f"client:{agent}"}).decode(),
        }  # fmt: skip

    def _worker_event(self, sid: str, agent: str, kind: str, at: int, activity: str,
                      previous: tuple[str, int]) -> None:  # fmt: skip
        params = self._common(kind, at, sid, agent)
        params.update(ResourceType="Worker", ResourceSid=sid, WorkerActivityName=activity,
                      WorkerPreviousActivityName=previous[0],
                      WorkerTimeInPreviousActivity=str(previous[1]),
                      WorkerTimeInPreviousActivityMs=str(previous[1] * 1000))  # fmt: skip
        # Half of them without a Sid: the Events reference lists none among the callback's
        # parameters; a repeat is then known by its worker, time and interval.
        if len(self.events) % 2:
            params["Sid"] = f"EV{len(self.events):032x}"
        self.events.append(params)

    def _reservation_event(self, sid: str, agent: str, kind: str, at: int, res: str) -> None:
        params = self._common(kind, at, sid, agent)
        task = "WT" + res[2:]
        status = {"reservation.accepted": "assigned", "reservation.wrapup": "wrapping",
                  "reservation.completed": "completed"}[kind]  # fmt: skip
        params.update(ResourceType="Reservation", ResourceSid=res, ReservationSid=res,
                      Sid=f"EV{len(self.events):032x}",
                      TaskSid=task, TaskAssignmentStatus=status,
                      WorkerActivityName="Available")  # fmt: skip
        self.events.append(params)

    def with_now(self, now_s: int) -> Counter[tuple[str, str, int, str]]:
        """The truth with what is under way at `now_s` (each worker's current activity)."""
        out = Counter(self.truth)
        saved, self.truth = self.truth, out
        for agent, (activity, since) in self.last.items():
            self._count(WORKERS[agent], "a:" + activity, since, now_s)
        self.truth = saved
        return out


def expected_rows(truth: Counter[tuple[str, str, int, str]], day: str) -> dict[Any, Any]:
    out: dict[tuple[str, int], dict[str, Any]] = {}
    for (d, team, slot, kind), seconds in truth.items():
        if d != day:
            continue
        row = out.setdefault((team, slot), {"talk": 0, "wrap": 0, "activities": Counter()})
        if kind in ("talk", "wrap"):
            row[kind] += seconds
        else:
            row["activities"][kind.removeprefix("a:")] += seconds
    return out


def check(rows: list[dict[str, Any]], truth: Counter[Any], day: str) -> None:
    want = expected_rows(truth, day)
    got = {(r["team"], r["slot"]): r for r in rows}
    assert set(got) == set(want)
    for key, w in want.items():
        r = got[key]
        assert r["talk_seconds"] == w["talk"], key
        assert r["wrap_seconds"] == w["wrap"], key
        assert r["activity_seconds"] == {k: float(v) for k, v in w["activities"].items()}, key
        # Workers take calls only while Available: idle is Available less the calls.
        idle = w["activities"]["Available"] - w["talk"] - w["wrap"]
        assert idle >= 0
        assert r["idle_seconds"] == idle, key
        busy = w["talk"] + w["wrap"]
        assert r["occupancy"] == (round(busy / (busy + idle), 4) if busy + idle else None), key
        assert r["agents"].get("Break", 0) == round(w["activities"]["Break"] / 1800, 3), key


def _run(service: ServerThread, namespace: str, redis_target: RedisTarget,
         make_store: Any) -> None:  # fmt: skip
    rng = random.Random(27)
    end_s = int(time.time()) - 60
    floor = Day(rng, end_s)
    # Out of order, and a fifth of them twice.
    posted = floor.events + rng.sample(floor.events, len(floor.events) // 5)
    rng.shuffle(posted)
    settings = service.settings
    assert settings is not None
    with service.client() as http:
        for params in posted:
            answer = post_signed(http, settings, "/twilio/taskrouter-events", params)
            assert answer.status_code == 204, answer.text

    now_s = end_s
    truth = floor.with_now(now_s)
    days = sorted({d for d, *_ in truth})
    # Redis holds what ended; what is under way is added when read. Shortly after a Tokyo
    # midnight (the test runs at any time of day) the new day holds only what is under way,
    # and has nothing to copy yet.
    ended_days = sorted({d for d, *_ in floor.truth})
    queues: Any = None  # both set by run()
    store: Any = None

    async def read(day: str) -> list[dict[str, Any]]:
        archived = await store.team_slots(day)
        return await day_model.team_slots(queues, day, archived, now_s * 1000)

    async def run() -> None:
        nonlocal queues, store
        redis = async_client(redis_target)
        store = make_store()
        try:
            queues = LiveQueues(redis, namespace=namespace, roster=load_roster(None),
                                policy=QueuePolicy(TOKYO))  # fmt: skip
            for day in days:
                rows = await read(day)
                check(rows, truth, day)
                # The charts draw those numbers: every team summed, occupancy recomputed.
                summed = day_charts.combine_teams(rows, day_charts.ALL_TEAMS)
                occupancy = day_charts.occupancy_chart(summed)
                want = expected_rows(truth, day)
                if not any(w["activities"]["Available"] for w in want.values()):
                    # The minutes before a Tokyo midnight that the floor's first hours began
                    # in (the test runs at any time of day): everyone still Offline, so no
                    # occupancy to draw.
                    assert occupancy is None
                else:
                    assert occupancy is not None
                values = [] if occupancy is None else list(occupancy.to_dict()["datasets"].values())
                assert len(values) == (0 if occupancy is None else 1)
                for v in values[0] if values else []:
                    slot = int(v["time"][:2]) * 2 + int(v["time"][3:]) // 30
                    parts = [w for (_, s), w in want.items() if s == slot]
                    busy = sum(p["talk"] + p["wrap"] for p in parts)
                    idle = sum(p["activities"]["Available"] - p["talk"] - p["wrap"] for p in parts)
                    assert v["occupancy"] == round(busy / (busy + idle), 4)
                by_activity = day_charts.agents_by_activity_chart(summed)
                assert by_activity is not None
                agents = by_activity.to_dict()
                [stacked] = list(agents["datasets"].values())
                offline = sum(v["agents"] for v in stacked if v["state"] == "Offline")
                assert offline == pytest.approx(
                    sum(n for (d, _, _, k), n in truth.items()
                        if d == day and k == "a:Offline") / 1800, abs=0.01 * len(stacked)
                )  # fmt: skip
                sales = day_charts.combine_teams(rows, "sales-east")
                assert {r["slot"] for r in sales} == {s for (t, s) in want if t == "sales-east"}
            # A repeat of every event changes nothing.
            before = {day: await queues.team_time.day_fields(day) for day in days}
            settings_ = service.settings
            assert settings_ is not None
            with service.client() as http:
                for params in rng.sample(floor.events, 50):
                    post_signed(http, settings_, "/twilio/taskrouter-events", params)
            assert {day: await queues.team_time.day_fields(day) for day in days} == before

            # The archive's copy, twice (a second copy changes nothing); then Redis forgets.
            assert await copy_team_time(queues.team_time, store) == len(ended_days)
            assert await copy_team_time(queues.team_time, store) == len(ended_days)
            for day in days:
                await redis.delete(queues.team_time.day_key(day))
                check(await read(day), truth, day)
            assert await copy_team_time(queues.team_time, store) == 0
            assert await queues.team_time.days() == []
            # Retention takes the team totals with the calls: kept while their day is within
            # it, gone once the whole day is older.
            await store.forget_before(now_s * 1000)
            assert all([await store.team_slots(day) for day in ended_days])
            await store.forget_before((now_s + 3 * 86_400) * 1000)
            assert not any([await store.team_slots(day) for day in days])
        finally:
            await store.close()
            await redis.aclose()

    asyncio.run(run())


def test_team_time_from_signed_events_equals_the_day_counted_by_hand(
    service: ServerThread, namespace: str, redis_target: RedisTarget, make_store: Any
) -> None:
    _run(service, namespace, redis_target, make_store)


def test_an_interval_is_cut_at_the_floors_half_hours_and_midnight() -> None:
    some_day = datetime.now(TOKYO).date()  # any day: Tokyo has no daylight saving
    midnight = int(datetime(some_day.year, some_day.month, some_day.day,
                            tzinfo=TOKYO).timestamp() * 1000)  # fmt: skip
    before = datetime.fromtimestamp(midnight / 1000 - 1, TOKYO).strftime("%Y-%m-%d")
    pieces = list(team_time.split(midnight - 45 * 60_000, midnight + 10 * 60_000, TOKYO))
    assert pieces == [(before, 46, 15 * 60_000), (before, 47, 30 * 60_000),
                      (some_day.isoformat(), 0, 10 * 60_000)]  # fmt: skip


def test_a_name_holding_the_separator_reads_back_whole() -> None:
    """A team or activity named with the fields' separator is written without it: its row
    reads back as one team and one activity, never as other parts."""
    name = team_time.field_name("sales" + team_time.SEP + "7", 3, "a:Break" + team_time.SEP + "x")
    [row] = team_time.slots_of({name: 1800_000})
    assert (row.team, row.slot, row.activities) == ("sales 7", 3, {"Break x": 1800_000})
