"""The Day page's numbers (issue 27 §5) for a simulated day: TaskRouter's events counted per half
hour in the floor's zone (any order, any repeat), the archive's calls per half hour, and the
charts' data equal to what the day was: the archive's own counts, and the tasks as made."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from datetime import datetime, timedelta
from typing import Any, TypedDict
from zoneinfo import ZoneInfo

from archive.record import CallRecord
from core import times
from core.redis_client import RedisTarget, async_client
from dashboard import day_charts
from live import day as day_model
from live.queues import LiveQueues, QueuePolicy
from live.roster import load as load_roster
from live.taskrouter_events import TaskRouterEvent

TOKYO = ZoneInfo("Asia/Tokyo")
QUEUES = {"WQ" + "1" * 32: "sales", "WQ" + "2" * 32: "営業サポート"}
SL_SECONDS = 20
WS = "WS" + "0" * 32


class _Common(TypedDict):
    """What a task's events all say."""

    workspace_sid: str
    task_sid: str
    queue_sid: str
    queue_name: str
    entered_s: int


def _events(task: str, queue: str, entered_ms: int, outcome: str, wait_s: int) -> list[Any]:
    common: _Common = {"workspace_sid": WS, "task_sid": task, "queue_sid": queue,
              "queue_name": QUEUES[queue], "entered_s": entered_ms // 1000}  # fmt: skip
    out = [TaskRouterEvent(kind="task.created", at_ms=entered_ms, status="pending", **common)]
    if outcome == "abandoned":
        out.append(TaskRouterEvent(kind="task.canceled", at_ms=entered_ms + wait_s * 1000,
                                   status="canceled", **common))  # fmt: skip
    else:
        accepted = entered_ms + wait_s * 1000
        out.append(TaskRouterEvent(kind="reservation.accepted", at_ms=accepted,
                                   status="assigned", worker_sid="WK" + "3" * 32,
                                   **common))  # fmt: skip
        out.append(TaskRouterEvent(kind="task.completed", at_ms=accepted + 60_000,
                                   status="completed", **common))  # fmt: skip
    return out


def test_the_days_charts_say_what_the_day_was(
    redis_target: RedisTarget, namespace: str, make_store: Any
) -> None:
    """On both archives: the day's calls per queue and half hour are one grouped query, on
    SQLite and on PostgreSQL alike."""
    rng = random.Random(27)
    # Yesterday in Tokyo (relative to now), from 08:00 to 20:00 local.
    day = (datetime.now(TOKYO) - timedelta(days=1)).date()
    start = datetime(day.year, day.month, day.day, 8, tzinfo=TOKYO)
    truth: Counter[tuple[str, int, str]] = Counter()
    events: list[Any] = []
    records: list[CallRecord] = []
    for n in range(300):
        queue = rng.choice(list(QUEUES))
        entered = start + timedelta(seconds=rng.randrange(12 * 3600))
        slot = entered.hour * 2 + entered.minute // 30
        outcome = rng.choice(["in-sl", "late", "abandoned"])
        wait = rng.randrange(1, SL_SECONDS) if outcome == "in-sl" else rng.randrange(21, 200)
        entered_ms = int(entered.timestamp() * 1000)
        name = QUEUES[queue]
        truth[(name, slot, "offered")] += 1
        truth[(name, slot, "abandoned" if outcome == "abandoned" else "answered")] += 1
        if outcome == "in-sl":
            truth[(name, slot, "in_sl")] += 1
        if outcome != "abandoned":
            truth[(name, slot, "wait")] += wait
            # The call the archive keeps: it starts when answered, and lasts 30..600 s.
            answered_ms = entered_ms + wait * 1000
            length = rng.randrange(30, 600)
            answered_slot = datetime.fromtimestamp(answered_ms / 1000, TOKYO)
            a_slot = answered_slot.hour * 2 + answered_slot.minute // 30
            truth[(name, a_slot, "archived")] += 1
            truth[(name, a_slot, "handle")] += length
            records.append(CallRecord(sid="CF" + format(n, "032x"), started_ms=answered_ms,
                                      ended_ms=answered_ms + length * 1000, team="sales-east",
                                      queue=name, agent="bob", alerts=(), monitored=False,
                                      text="", doc={"sid": "CF" + format(n, "032x")}))  # fmt: skip
        events.extend(_events("WT" + format(n, "032x"), queue, entered_ms, outcome, wait))
    # Out of order, and some twice.
    shuffled = events + rng.sample(events, 100)
    rng.shuffle(shuffled)

    async def run() -> list[dict[str, Any]]:
        redis = async_client(redis_target)
        store = make_store()
        try:
            queues = LiveQueues(redis, namespace=namespace, roster=load_roster(None),
                                policy=QueuePolicy(TOKYO, SL_SECONDS))  # fmt: skip
            for event in shuffled:
                await queues.apply(event)
            for record in records:
                assert await store.put(record)
            assert await store.count() == len(records)
            lo, hi = times.day_bounds(day.isoformat(), TOKYO)
            tr = await day_model.taskrouter_slots(queues, day.isoformat())
            archived = await store.day_slots(lo, hi)
            assert sum(n for _, _, n, _ in archived) == await store.count()
            return [row.json(0.8) for row in day_model.merge(tr, archived)]
        finally:
            store_close = store.close()
            await store_close
            await redis.aclose()

    rows = asyncio.run(run())
    by = {(r["queue"], r["slot"]): r for r in rows}
    for (name, slot, what), value in truth.items():
        row = by[(name, slot)]
        if what == "offered":
            assert row["offered"] == value, (name, slot)
        elif what in ("answered", "abandoned"):
            assert row[what] == value, (name, slot, what)
        elif what == "archived":
            assert row["archived_calls"] == value, (name, slot)
        elif what == "handle":
            expected = round(value / truth[(name, slot, "archived")], 1)
            assert row["average_handle_seconds"] == expected, (name, slot)
        elif what == "wait":
            expected = round(value / truth[(name, slot, "answered")], 1)
            assert row["average_answer_seconds"] == expected, (name, slot)
    for row in rows:
        decided = row["answered"] + row["abandoned"]
        if decided:
            in_sl = truth[(row["queue"], row["slot"], "in_sl")]
            assert row["service_level"] == round(in_sl / decided, 4)
            assert row["below_target"] == (in_sl / decided < 0.8)
    assert sum(r["offered"] for r in rows) == 300
    assert {r["queue"] for r in rows} == set(QUEUES.values()), "Japanese queue names too"
    assert all(r["time"] >= "08:00" for r in rows if r["offered"])

    # The charts draw those numbers: every queue summed per half hour.
    summed = day_charts.combine(rows, day_charts.ALL_QUEUES)
    assert sum(r["offered"] for r in summed) == 300
    volume = day_charts.volume_chart(summed).to_dict()
    [values] = [v for v in volume["datasets"].values()]
    offered = sum(v["calls"] for v in values if v["what"] == "offered")
    abandoned = sum(v["calls"] for v in values if v["what"] == "abandoned")
    assert offered == 300
    assert abandoned == sum(v for (_, _, w), v in truth.items() if w == "abandoned")
    for r in summed:
        slot_rows = [x for x in rows if x["slot"] == r["slot"]]
        decided = sum(x["answered"] + x["abandoned"] for x in slot_rows)
        in_sl = sum(truth[(x["queue"], x["slot"], "in_sl")] for x in slot_rows)
        assert r["service_level"] == (round(in_sl / decided, 4) if decided else None)
    level_chart = day_charts.service_level_chart(summed, 0.8)
    assert level_chart is not None
    level = level_chart.to_dict()
    assert any(layer["mark"]["type"] == "rule" for layer in level["layer"])
    times_chart = day_charts.times_chart(summed)
    assert times_chart is not None
    times_chart.to_dict()


def test_a_chart_with_nothing_to_draw_is_a_sentence_not_empty_axes() -> None:
    """A half hour with a call still waiting: offered, but none answered, abandoned or
    archived yet. The volume chart draws it; service level and answer time have nothing,
    and say so rather than draw empty axes (which Vega marks as an image without text)."""
    waiting = {"slot": 2, "time": "01:00", "queue": "営業サポート", "offered": 1,
               "answered": 0, "abandoned": 0, "answered_in_sl": 0, "wait_seconds": 0,
               "archived_calls": 0, "handle_seconds": 0, "service_level_target": 0.8}  # fmt: skip
    shown = day_charts.combine([waiting], day_charts.ALL_QUEUES)
    assert day_charts.volume_chart(shown) is not None
    assert day_charts.service_level_chart(shown, 0.8) is None
    assert day_charts.times_chart(shown) is None
    answered = {**waiting, "answered": 1, "answered_in_sl": 1, "wait_seconds": 12}
    shown = day_charts.combine([answered], day_charts.ALL_QUEUES)
    assert day_charts.service_level_chart(shown, 0.8) is not None
    assert day_charts.times_chart(shown) is not None
    idle = {"slot": 2, "time": "01:00", "talk_seconds": 0.0, "wrap_seconds": 0.0,
            "idle_seconds": 0.0, "agents": {}}  # fmt: skip
    teams = day_charts.combine_teams([{**idle, "team": "sales"}], day_charts.ALL_TEAMS)
    assert day_charts.occupancy_chart(teams) is None
    assert day_charts.agents_by_activity_chart(teams) is None
    ready = {**idle, "team": "sales", "idle_seconds": 600.0, "agents": {"available": 0.33}}
    teams = day_charts.combine_teams([ready], day_charts.ALL_TEAMS)
    assert day_charts.occupancy_chart(teams) is not None
    assert day_charts.agents_by_activity_chart(teams) is not None
