"""Where each team's time went, per half hour of the floor's day (issue 27 §5): the Day page's
occupancy and agents by activity, from TaskRouter's events.

Two kinds of events say how long a worker spent doing what:

- `worker.activity.update` closes the worker's previous activity: WorkerPreviousActivityName
  held for WorkerTimeInPreviousActivityMs (else WorkerTimeInPreviousActivity, seconds) up to
  the event's Timestamp (Twilio's TaskRouter Events reference and its Event Streams schema,
  https://www.twilio.com/docs/events/event-types/taskrouter/worker). Each event carries its
  whole interval, so order does not matter; a repeat is recognised by the event's `Sid`
  (else by its worker, time and interval) and counted once (one Redis key per event, kept
  as long as the totals).
- a reservation's `reservation.accepted`, `reservation.wrapup` and `reservation.completed`
  say when its worker talked (accepted → wrap-up, or → completed when there was no wrap-up)
  and wrapped up (wrap-up → completed). The three times are registers (the earliest of each
  kind wins), and the totals move by the difference between what the registers say now and
  what they said before (compare-and-set in one script), so any order and any repeat of those
  events counts each reservation once.

Totals are per team (the roster's team of the worker's agent at the event; "" for a worker on
no team), per half hour counted from the local midnight of EARPIECE_TIMEZONE (live/day.py's
rule), in milliseconds, in one Redis hash per day kept KEEP_SECONDS; the archiver copies them
into the archive (archive/ `put_team_slots`), which keeps them as long as calls.

Occupancy, as Amazon Connect and Flex Insights define it: the share of an agent's staffed,
ready time spent handling contacts,

    occupancy = (talking + wrapping) / (available and idle + talking + wrapping)

TaskRouter keeps a worker in their Available activity while they handle a task (multitasking
Workspaces, Flex's), so "available and idle" is the time in available activities less the
time talking and wrapping (never below zero). Time in unavailable activities (Break,
Offline...) is outside it; agents by activity shows it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from core.documents import Worker
from core.redis_client import AsyncRedis
from core.times import day_bounds
from live.roster import Roster
from live.taskrouter_events import TaskRouterEvent

SLOT_MS = 30 * 60 * 1000
SLOTS = 48  # live/day.py's (which reads live/queues.py, which holds one of these)
# How far back an interval is written: what started earlier than Redis keeps a day would be
# forgotten anyway (live/queues.py KEEP_SECONDS is three days).
LOOKBACK_MS = 4 * 24 * 3600 * 1000
TALK, WRAP = "talk", "wrap"
ACTIVITY = "a:"  # a field's kind for time in an activity: "a:Break"
SEP = "\x1f"  # between a field's parts: a character no team or activity is named with
RESERVATION_EVENTS = {
    "reservation.accepted": "acc",
    "reservation.wrapup": "wrap",
    "reservation.completed": "done",
}

Adds = tuple[list[str], list[Any]]  # day hashes for KEYS, (field, ms) pairs for ARGV

# Both scripts add time to day totals the same way. KEYS[2] the set of days with totals,
# KEYS[3..] one day hash per pair of ARGV from `first` on (field, ms to add; negative:
# taken back); every key named in KEYS, as a script on a Cluster must (issue 24).
ADD_LUA = """
local function add(first, keep)
  local k = 3
  for i = first, #ARGV, 2 do
    redis.call('HINCRBY', KEYS[k], ARGV[i], ARGV[i + 1])
    redis.call('EXPIRE', KEYS[k], keep)
    redis.call('SADD', KEYS[2], KEYS[k])
    k = k + 1
  end
  redis.call('EXPIRE', KEYS[2], keep)
end
"""
# Count an event's intervals once. KEYS[1] the event's "seen" key (its Sid); ARGV[1] seconds
# kept, ARGV[2..] the pairs. Returns 1 when counted, 0 for a repeat.
ONCE_LUA = (
    ADD_LUA
    + """
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return 0 end
add(2, ARGV[1])
return 1
"""
)
# Move a reservation's counted time. KEYS[1] its registers; ARGV[1] seconds kept, ARGV[2]
# the registers as read ("" when none), ARGV[3] the registers now, ARGV[4..] the pairs.
# Returns 0 when the registers changed since they were read (the caller reads again).
MOVE_LUA = (
    ADD_LUA
    + """
if (redis.call('HGET', KEYS[1], 'state') or '') ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'state', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[1])
add(4, ARGV[1])
return 1
"""
)


def slot_label(slot: int) -> str:
    return f"{slot // 2:02d}:{30 * (slot % 2):02d}"  # live/day.py's, which imports this module


def split(start_ms: int, end_ms: int, zone: ZoneInfo) -> Iterator[tuple[str, int, int]]:
    """[start, end) cut at the half hours of the floor's days: (day, slot, ms) pieces."""
    at = start_ms
    while at < end_ms:
        day = datetime.fromtimestamp(at / 1000, zone).strftime("%Y-%m-%d")
        midnight, next_midnight = day_bounds(day, zone)
        slot = (at - midnight) // SLOT_MS
        until = min(end_ms, midnight + (slot + 1) * SLOT_MS, next_midnight)
        yield day, int(slot), until - at
        at = until


def field_name(team: str, slot: int, kind: str) -> str:
    # A name holding the separator would read back as other parts: it is written without it.
    return SEP.join((team.replace(SEP, " "), str(slot), kind.replace(SEP, " ")))


def _registers(raw: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in raw.split(SEP) if "=" in part)


def _registers_text(registers: Mapping[str, str]) -> str:
    return SEP.join(f"{k}={v}" for k, v in sorted(registers.items()))


def reservation_intervals(registers: Mapping[str, str]) -> list[tuple[str, int, int]]:
    """What a reservation's registers say its worker did: (talk|wrap, start, end)."""
    acc, wrap, done = (
        int(registers[k]) if registers.get(k) else None for k in ("acc", "wrap", "done")
    )
    out = []
    talk_end = wrap if wrap is not None else done
    if acc is not None and talk_end is not None and talk_end > acc:
        out.append((TALK, acc, talk_end))
    if wrap is not None and done is not None and done > wrap:
        out.append((WRAP, wrap, done))
    return out


@dataclass
class TeamSlot:
    team: str
    slot: int
    talk_ms: int = 0
    wrap_ms: int = 0
    activities: dict[str, int] = field(default_factory=dict)  # activity name -> ms

    def json(self, available: Mapping[str, bool]) -> dict[str, Any]:
        in_available = sum(ms for name, ms in self.activities.items() if available.get(name))
        handling = self.talk_ms + self.wrap_ms
        idle = max(0, in_available - handling)
        staffed = idle + handling
        agents = {
            "on a call": self.talk_ms / SLOT_MS,
            "wrap-up": self.wrap_ms / SLOT_MS,
            "available": idle / SLOT_MS,
        }
        for name, ms in sorted(self.activities.items()):
            if not available.get(name):
                agents[name] = agents.get(name, 0.0) + ms / SLOT_MS
        return {
            "team": self.team,
            "slot": self.slot,
            "time": slot_label(self.slot),
            "talk_seconds": self.talk_ms / 1000,
            "wrap_seconds": self.wrap_ms / 1000,
            "idle_seconds": idle / 1000,
            "activity_seconds": {k: v / 1000 for k, v in sorted(self.activities.items())},
            "occupancy": round(handling / staffed, 4) if staffed else None,
            # Agents in each state on average over the half hour (time / 30 minutes).
            "agents": {k: round(v, 3) for k, v in agents.items() if v},
        }


def slots_of(fields: Mapping[str, int]) -> list[TeamSlot]:
    """The day's totals (fields as field_name makes them) as one row per team and half hour."""
    rows: dict[tuple[str, int], TeamSlot] = {}
    for name, ms in fields.items():
        team, slot_text, kind = name.split(SEP, 2)
        slot = int(slot_text)
        if not 0 <= slot < SLOTS or not ms:
            continue
        row = rows.setdefault((team, slot), TeamSlot(team, slot))
        if kind == TALK:
            row.talk_ms += ms
        elif kind == WRAP:
            row.wrap_ms += ms
        elif kind.startswith(ACTIVITY):
            activity = kind.removeprefix(ACTIVITY)
            row.activities[activity] = row.activities.get(activity, 0) + ms
    return sorted(rows.values(), key=lambda r: (r.team, r.slot))


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class TeamTime:
    def __init__(
        self,
        redis: AsyncRedis,
        *,
        tag: str,
        roster: Roster,
        zone: ZoneInfo,
        keep_seconds: int,
        agent_of: Any,
    ) -> None:
        self.redis, self.tag, self.roster, self.zone = redis, tag, roster, zone
        self.keep_seconds = keep_seconds
        self.agent_of = agent_of  # live/queues.py LiveQueues.agent_of
        self._once = redis.register_script(ONCE_LUA)
        self._move = redis.register_script(MOVE_LUA)

    def key(self, *parts: str) -> str:
        return ":".join((self.tag, "tr", "team", *parts))

    def day_key(self, day: str) -> str:
        return self.key("day", day)

    def team_of(self, e: TaskRouterEvent) -> str:
        team = self.roster.team_for(self.agent_of(e.contact_uri, e.worker_name))
        return team.name if team else ""

    def _adds(self, team: str, kind: str, start: int, end: int, sign: int) -> Adds:
        """The day hashes (for KEYS) and the (field, ms) pairs (for ARGV) of one interval."""
        days: list[str] = []
        pairs: list[Any] = []
        for day, slot, ms in split(start, end, self.zone):
            days.append(self.day_key(day))
            pairs += [field_name(team, slot, kind), sign * ms]
        return days, pairs

    async def record(self, e: TaskRouterEvent) -> bool:
        """Count what one signed event says of a worker's time; False when it says nothing new
        (a repeat, or an event of no use here)."""
        if e.worker_sid is None:
            return False
        if e.kind == "worker.activity.update":
            return await self._activity(e)
        if e.kind in RESERVATION_EVENTS and e.reservation_sid:
            return await self._reservation(e)
        return False

    async def _activity(self, e: TaskRouterEvent) -> bool:
        if e.worker_sid is None or not e.previous_activity or not e.previous_ms:
            return False
        # The event's Sid when it carries one (Event Streams' payload has `sid`; the Events
        # reference's table of callback parameters lists none): else what makes the event
        # itself, the worker, its time and the interval it closes (a repeat has them all).
        identity = e.sid or f"{e.worker_sid}:{e.at_ms}:{e.previous_ms}"
        start = max(e.at_ms - e.previous_ms, e.at_ms - LOOKBACK_MS)
        days, pairs = self._adds(self.team_of(e), ACTIVITY + e.previous_activity, start, e.at_ms, 1)
        done: Any = await self._once(
            keys=[self.key("seen", identity), self.key("days"), *days],
            args=[self.keep_seconds, *pairs],
        )
        return bool(done)

    async def _reservation(self, e: TaskRouterEvent) -> bool:
        assert e.reservation_sid is not None
        key = self.key("res", e.reservation_sid)
        which = RESERVATION_EVENTS[e.kind]
        while True:
            raw: Any = await self.redis.hget(key, "state")
            before_text = _text(raw) if raw else ""
            before = _registers(before_text)
            after = dict(before)
            if not after.get(which) or e.at_ms < int(after[which]):
                after[which] = str(e.at_ms)
            if not after.get("team"):
                # The team when the call was taken (a roster change later moves no history).
                after["team"] = self.team_of(e).replace(SEP, " ") or "-"
            after_text = _registers_text(after)
            if after_text == before_text:
                return False
            days: list[str] = []
            pairs: list[Any] = []
            old_team = "" if before.get("team", "-") == "-" else before["team"]
            new_team = "" if after["team"] == "-" else after["team"]
            for team, registers, sign in ((old_team, before, -1), (new_team, after, 1)):
                for kind, start, end in reservation_intervals(registers):
                    since = max(start, end - LOOKBACK_MS)
                    more_days, more = self._adds(team, kind, since, end, sign)
                    days += more_days
                    pairs += more
            moved: Any = await self._move(
                keys=[key, self.key("days"), *days],
                args=[self.keep_seconds, before_text, after_text, *pairs],
            )
            if moved:
                return True

    # -- read ---------------------------------------------------------------------------

    async def day_fields(self, day: str) -> dict[str, int]:
        raw: Any = await self.redis.hgetall(self.day_key(day))
        return {_text(k): int(v) for k, v in raw.items()}

    async def forget_day(self, day: str) -> None:
        await self.redis.srem(self.key("days"), self.day_key(day))

    async def days(self) -> list[str]:
        """The days Redis holds totals of (the archiver copies these)."""
        raw: Any = await self.redis.smembers(self.key("days"))
        prefix = self.day_key("")
        return sorted(_text(k).removeprefix(prefix) for k in raw)

    def open_fields(self, workers: Iterable[Worker], day: str, now_ms: int) -> dict[str, int]:
        """What is under way now (an activity, a call, a wrap-up not ended yet), up to `now`,
        in `day`: counted by no event yet, shown so the current half hour is not empty."""
        out: dict[str, int] = {}

        def add(team: str, kind: str, start: int) -> None:
            for piece_day, slot, ms in split(max(start, now_ms - LOOKBACK_MS), now_ms, self.zone):
                if piece_day == day:
                    name = field_name(team, slot, kind)
                    out[name] = out.get(name, 0) + ms

        for w in workers:
            team_found = self.roster.team_for(w.get("agent") or None)
            team = team_found.name if team_found else ""
            activity, since = w.get("activity"), w.get("activity_since_ms")
            if activity and since:
                add(team, ACTIVITY + activity, int(since))
            phase, phase_at = w.get("phase"), w.get("phase_at_ms")
            if phase in ("assigned", "wrapping") and phase_at:
                add(team, TALK if phase == "assigned" else WRAP, int(phase_at))
        return out


def totals_of(fields: Mapping[str, int]) -> list[tuple[str, int, str, int]]:
    """Fields as rows (team, slot, kind, ms): the archive's form."""
    out = []
    for name, ms in fields.items():
        team, slot, kind = name.split(SEP, 2)
        out.append((team, int(slot), kind, ms))
    return out


def fields_of(totals: Iterable[tuple[str, int, str, int]]) -> dict[str, int]:
    return {field_name(team, slot, kind): ms for team, slot, kind, ms in totals}


def merged(
    redis_fields: Mapping[str, int], archived: Mapping[str, int], open_now: Mapping[str, int]
) -> dict[str, int]:
    """Redis's totals where it has them (newest), else the archive's copy; plus what is under
    way now."""
    out = {**archived, **redis_fields}
    for name, ms in open_now.items():
        out[name] = out.get(name, 0) + ms
    return out
