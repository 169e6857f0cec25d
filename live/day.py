"""The day in half hours, per queue (issue 27 §5): what the Day page charts.

Two sources, each for what it knows:

- TaskRouter's events (live/taskrouter.lua's `:tr:slots:<day>:<WQ>` counters, moved by the
  same rule as the day's: any order or repeat of events counts a task once, in the half
  hour of the floor's day it entered its queue): offered (entered), answered, abandoned,
  answered within the service level, total wait of the answered;
- the archive (archive/ `day_slots`): calls that ended, per queue and half hour they
  started, and their total length, for the handle time.

Both survive a restart of any process (Redis keeps the counters for
live/queues.py KEEP_SECONDS, three days; the archive keeps the calls for its retention).
Half hours are counted from the local midnight of EARPIECE_TIMEZONE (a day with a DST jump
has its slots from that midnight: Japan has none).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from live import team_time
from live.queues import LiveQueues, text

SLOTS = 48


def slot_label(slot: int) -> str:
    return f"{slot // 2:02d}:{30 * (slot % 2):02d}"


@dataclass
class Slot:
    queue: str
    slot: int
    entered: int = 0
    answered: int = 0
    abandoned: int = 0
    answered_in_sl: int = 0
    wait_ms: int = 0
    handled: int = 0  # archived calls that started in this half hour
    handle_seconds: int = 0

    def json(self, target: float) -> dict[str, Any]:
        decided = self.answered + self.abandoned
        level = self.answered_in_sl / decided if decided else None
        return {
            "queue": self.queue,
            "slot": self.slot,
            "time": slot_label(self.slot),
            "offered": self.entered,
            "answered": self.answered,
            "abandoned": self.abandoned,
            # the sums behind the ratios (a sum over queues is made from these, not from
            # rounded ratios)
            "answered_in_sl": self.answered_in_sl,
            "wait_seconds": self.wait_ms / 1000,
            "handle_seconds": self.handle_seconds,
            "service_level": round(level, 4) if level is not None else None,
            "service_level_target": target,
            "below_target": level is not None and level < target,
            "average_answer_seconds": round(self.wait_ms / self.answered / 1000, 1)
            if self.answered
            else None,
            "archived_calls": self.handled,
            "average_handle_seconds": round(self.handle_seconds / self.handled, 1)
            if self.handled
            else None,
        }


async def taskrouter_slots(queues: LiveQueues, day: str) -> dict[tuple[str, int], Slot]:
    """Every queue's half hours of `day` from the TaskRouter counters, by (queue name, slot)."""
    names: Any = await queues.redis.hgetall(queues.key("queues"))
    pairs = sorted((text(sid), text(name)) for sid, name in names.items())
    async with queues.redis.pipeline(transaction=False) as pipe:
        for sid, _ in pairs:
            pipe.hgetall(queues.key("slots", day, sid))
        replies: list[Any] = await pipe.execute()
    out: dict[tuple[str, int], Slot] = {}
    for (_, name), fields in zip(pairs, replies, strict=True):
        for raw_field, raw_value in fields.items():
            slot_text, _, counter = text(raw_field).partition(":")
            slot = int(slot_text)
            row = out.setdefault((name, slot), Slot(name, slot))
            if counter in ("entered", "answered", "abandoned", "answered_in_sl", "wait_ms"):
                setattr(row, counter, getattr(row, counter) + int(raw_value))
    return out


def merge(
    tr: Mapping[tuple[str, int], Slot], archived: Iterable[tuple[str, int, int, int]]
) -> list[Slot]:
    """One row per queue and half hour, with what each source knows of it."""
    rows = dict(tr)
    for queue, slot, calls, seconds in archived:
        if not queue or not 0 <= slot < SLOTS:
            continue
        row = rows.setdefault((queue, slot), Slot(queue, slot))
        row.handled += calls
        row.handle_seconds += seconds
    return sorted(rows.values(), key=lambda r: (r.queue, r.slot))


async def team_slots(
    queues: LiveQueues, day: str, archived: Iterable[tuple[str, int, str, int]], now_ms: int
) -> list[dict[str, Any]]:
    """Every team's half hours of `day` (live/team_time.py): Redis's totals, else the archive's
    copy, with what is under way now; occupancy and agents by activity worked out per row."""
    tt = queues.team_time
    fields = team_time.merged(
        await tt.day_fields(day),
        team_time.fields_of(archived),
        tt.open_fields(await queues.worker_registers(), day, now_ms),
    )
    known = await queues.available_activities()
    rows = team_time.slots_of(fields)
    names = {name for row in rows for name in row.activities}
    available = {name: queues.is_available(name, known) for name in names}
    return [row.json(available) for row in rows]
