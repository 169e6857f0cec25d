"""The live queues and agents of a TaskRouter floor, in Redis (issue 12).

Beside the conference floor (live/store.py): TaskRouter's events are applied
by live/taskrouter.lua, one round trip per batch like conference callbacks,
as registers that any order of the same events leaves the same; the API,
the feed and the dashboard read queues and agents here.

"Today" is the calendar day in EARPIECE_TIMEZONE on which a task entered its
queue. The service level is the share of today's answered-or-abandoned
calls answered within the queue's threshold.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Any, cast
from zoneinfo import ZoneInfo

import orjson
from redis.exceptions import RedisError

from core.documents import Worker, worker_of
from core.keys import Keys
from core.redis_client import AsyncRedis
from core.times import iso
from live import attention, names
from live.after_call import AfterCall
from live.batching import BatchedScript
from live.board import mask_number
from live.roster import Roster
from live.scripts import script
from live.taskrouter_events import TaskRouterEvent
from live.team_time import TeamTime

LINK_LUA = script("taskrouter_link.lua")
# The apply script runs the link function too (after a reservation.accepted, same call).
TASKROUTER_LUA = (
    LINK_LUA.split("\n-- entry: as a script of its own\n")[0]
    + "\n"
    + resources.files("live").joinpath("taskrouter.lua").read_text(encoding="utf-8")
)
# KEYS the workers' hashes: {{field, value, ...}, ...}, one a key, in their order.
READ_WORKERS_LUA = """
local out = {}
for i, key in ipairs(KEYS) do out[i] = redis.call('HGETALL', key) end
return out
"""
# What decides the keys a task's event touches (live/taskrouter.lua): KEYS[1] the task's
# registers, KEYS[2] the call index; ARGV[1] the event's CallSid or "".
# Returns {queue, day, class, the conference of the task's call}, "" for each one unknown.
# What decides an event's keys, for a batch of events (live/batching.py: the reads of events
# in flight together go as one call, as their applies do). KEYS[1] the call index, KEYS[1+i]
# event i's task; ARGV[i] its CallSid ("" when it names none). Four values an event: queue,
# day, class, conference.
TASK_KEYS_LUA = """
local out = {}
for i = 1, #ARGV do
  local r = redis.call('HMGET', KEYS[1 + i], 'q', 'day', 'cls', 'call')
  local call = r[4] or (ARGV[i] ~= '' and ARGV[i]) or nil
  local sid = call and redis.call('HGET', KEYS[1], call) or ''
  for _, v in ipairs({r[1] or '', r[2] or '', r[3] or '', sid or ''}) do out[#out + 1] = v end
end
return out
"""
# Calls of a script that answered `retry` (the task moved between the read of its keys and
# the call) before giving up: each retry means another event of the task came first.
MAX_TRIES = 5
# TaskRouter names the conference of a task for the task (its SID starts so).
TASK_PREFIX = "WT"
# A finished task's registers and a day's counters are kept this long.
KEEP_SECONDS = 3 * 24 * 3600
# Activities a Workspace calls available when it has not said (activity.* events or the
# reconciler's read of Activities teach the real ones).
AVAILABLE_BY_DEFAULT = frozenset({"Available", "Idle"})
PHASE_RANK = {"assigned": 1, "wrapping": 2, "none": 3}
TASKS_SHOWN = 20  # waiting tasks listed per queue (the count is of all)
BUSY = ("assigned", "wrapping")


def text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


@dataclass(frozen=True)
class QueuePolicy:
    timezone: ZoneInfo
    service_level_seconds: float = 20.0
    # Alerts (worked out at read time, like conference alerts): a caller waiting longer
    # than wait_alert; callers waiting this long while an agent of the queue sits
    # available (routing stuck); the service level under its target; an agent in
    # wrap-up or unavailable (not on a call) for longer than these.
    wait_alert_seconds: float = 60.0
    stuck_seconds: float = 15.0
    service_level_target: float = 0.8
    wrapup_alert_seconds: float = 120.0
    away_alert_seconds: float = 900.0

    def day(self, epoch_s: float) -> str:
        return _day(int(epoch_s), self.timezone)

    def slot(self, epoch_s: float) -> int:
        """The half hour of its day (0..47, in EARPIECE_TIMEZONE) an instant falls in."""
        return _slot(int(epoch_s), self.timezone)


@functools.lru_cache(maxsize=4096)
def _slot(epoch_s: int, zone: ZoneInfo) -> int:
    local = datetime.fromtimestamp(epoch_s, zone)
    return local.hour * 2 + local.minute // 30


@functools.lru_cache(maxsize=4096)
def _day(epoch_s: int, zone: ZoneInfo) -> str:
    # Every event of a task carries the same TaskQueueEnteredDate: one conversion a task.
    return datetime.fromtimestamp(epoch_s, zone).strftime("%Y-%m-%d")


class LiveQueues:
    def __init__(
        self,
        redis: AsyncRedis,
        *,
        namespace: str,
        roster: Roster,
        policy: QueuePolicy,
        mask: bool = True,
        feed_maxlen: int = 20_000,
        country: str | None = None,
    ) -> None:
        self.redis, self.roster, self.policy, self.mask = redis, roster, policy, mask
        self.country = country  # callers' numbers are written for this country (core/phone.py)
        self.keys = Keys(namespace)  # the floor's keys (the conference, the call index, the feed)
        self.tag = self.keys.tag
        self.feed_maxlen = feed_maxlen
        self._link = redis.register_script(LINK_LUA)
        self._read_workers = redis.register_script(READ_WORKERS_LUA)
        self._task_keys_read = BatchedScript(
            redis, TASK_KEYS_LUA, shared_keys=[self.keys.calls], shared_args=[], width=4
        )
        self.after_call = AfterCall(redis, namespace=namespace, feed_maxlen=feed_maxlen)
        # Told of every event applied, from a webhook or the reconciler's repair alike:
        # coach/agent_state.py makes an after-call change the event lets happen.
        self.after_applied: Callable[[TaskRouterEvent], Awaitable[None]] | None = None
        # Each team's time per half hour (the Day page's occupancy): the webhook records it.
        self.team_time = TeamTime(
            redis,
            tag=self.tag,
            roster=roster,
            zone=policy.timezone,
            keep_seconds=KEEP_SECONDS,
            agent_of=self.agent_of,
        )
        self._apply = BatchedScript(
            redis,
            TASKROUTER_LUA,
            shared_keys=[
                self.key("queues"),
                self.keys.feed,
                self.keys.calls,
                self.key("tasks"),
                self.key("workers"),
                self.key("activities"),
            ],
            shared_args=[self.tag, KEEP_SECONDS, feed_maxlen],
        )

    def key(self, *parts: str) -> str:
        return ":".join((self.tag, "tr", *parts))

    # -- write -----------------------------------------------------------------

    def agent_of(self, contact_uri: str | None, worker_name: str | None) -> str | None:
        """The roster agent a Worker is: its `contact_uri` (client:bob), else its name."""
        known = self.roster.team_of_agent
        if contact_uri and contact_uri.startswith("client:") and contact_uri[7:] in known:
            return contact_uri[7:]
        return worker_name if worker_name in known else None

    def threshold(self, queue_name: str | None, key: str) -> float:
        """A queue's own threshold from the roster ([queues.NAME]), else the setting's."""
        own = self.roster.queues.get(queue_name or "", {})
        default = {
            "service_level_seconds": self.policy.service_level_seconds,
            "wait_alert_seconds": self.policy.wait_alert_seconds,
        }[key]
        return own.get(key, default)

    def script_event(self, e: TaskRouterEvent) -> bytes:
        """The compact form live/taskrouter.lua reads (no nulls: Lua's cjson makes them true)."""
        phase = e.worker_phase
        fields: dict[str, Any] = {
            "at": e.at_ms,
            "task": e.task_sid,
            "status": e.status,
            "rank": e.rank,
            "queue": e.queue_sid,
            "queue_name": e.queue_name,
            "entered": e.entered_s * 1000 if e.entered_s else None,
            "day": self.policy.day(e.entered_s) if e.entered_s else None,
            "slot": self.policy.slot(e.entered_s) if e.entered_s else None,
            "sl": int(self.threshold(e.queue_name, "service_level_seconds") * 1000),
            "accepted": e.kind == "reservation.accepted" or None,
            "worker": e.worker_sid,
            "agent": self.agent_of(e.contact_uri, e.worker_name),
            "name": e.worker_name,
            "call": e.call_sid,
            "caller": e.caller,
            "prio": e.priority,
            "activity": e.activity,
            "activity_available": e.activity_available,
            "activity_changed": e.kind in ("worker.activity.update", "worker.created") or None,
            "phase": phase,
            "phase_rank": PHASE_RANK.get(phase or ""),
        }
        if e.task_sid is None or e.status is None:
            fields.pop("status")
        return orjson.dumps({k: v for k, v in fields.items() if v is not None})

    async def apply(self, e: TaskRouterEvent) -> str:
        """Apply one event: `applied`, `unchanged`, or `ignored` (nothing the floor keeps)."""
        return (await self.apply_and_link(e))[0]

    async def apply_and_link(
        self, e: TaskRouterEvent
    ) -> tuple[str, str | None, list[tuple[str, str]]]:
        """Apply one event; and for a reservation.accepted, label its conference's legs in the
        same call: (outcome, the conference, the legs newly labelled)."""
        if e.task_sid is None and e.worker_sid is None and e.activity_available is None:
            return "ignored", None, []
        event = self.script_event(e)
        for _ in range(MAX_TRIES):
            outcome, linked = await self._apply(await self._event_keys(e), event)
            if text(outcome) != "retry":
                break
        else:
            raise RedisError(f"task {e.task_sid} kept moving: {MAX_TRIES} tries, none applied")
        if self.after_applied is not None:
            await self.after_applied(e)
        sid, _, newly = text(linked).partition("|")
        pairs = [item.split(" ", 1) for item in newly.split(",") if item]
        return text(outcome), sid or None, [(a, b) for a, b in pairs]

    async def _task_registers(self, task_sid: str, call_sid: str | None) -> list[str]:
        """[queue, day, class, conference]: what decides the keys an event of the task
        touches, as Redis holds it now ("" where unknown)."""
        reply = await self._task_keys_read([self.key("task", task_sid)], (call_sid or "").encode())
        return [text(x) for x in reply]

    async def _event_keys(self, e: TaskRouterEvent) -> list[str]:
        """The keys live/taskrouter.lua may touch for this event besides the shared ones:
        from the event, and from the task's registers read now (the script checks it was
        given each one it touches, and answers `retry` when the task moved meanwhile)."""
        keys = []
        if e.worker_sid:
            keys.append(self.key("worker", e.worker_sid))
        if e.task_sid is None:
            return keys
        queue, day, counted, conference = await self._task_registers(e.task_sid, e.call_sid)
        keys.append(self.key("task", e.task_sid))
        queues = {q for q in (queue, e.queue_sid) if q}
        days = {d for d in (day, self.policy.day(e.entered_s) if e.entered_s else None) if d}
        pairs = {(d, q) for d in days for q in queues}
        if counted:
            counted_day, counted_queue, _ = counted.split("|", 2)
            pairs.add((counted_day, counted_queue))
        keys += [self.key("waiting", q) for q in sorted(queues)]
        for d, q in sorted(pairs):
            keys += [self.key("day", d, q), self.key("slots", d, q)]
        if conference:
            keys.append(self.keys.conference(conference))
        return keys

    async def link(
        self, task_sid: str, conference_sid: str = "", call_sid: str = ""
    ) -> tuple[str | None, list[tuple[str, str]], str | None]:
        """Label the customer and agent of the conference TaskRouter made for `task_sid`
        (live/taskrouter_link.lua): the label `call_sid` has now, the legs newly
        labelled (CallSid, label), and the conference."""
        for _ in range(MAX_TRIES):
            sid = conference_sid or (await self._task_registers(task_sid, None))[3]
            keys = [self.keys.calls, self.keys.feed, self.key("task", task_sid)]
            if sid:
                keys.append(self.keys.conference(sid))
            reply = cast(
                "list[bytes]",
                await self._link(
                    keys=keys,
                    args=[self.tag, task_sid, conference_sid, call_sid, self.feed_maxlen],
                ),
            )
            if text(reply[3]) != "retry":
                break
        else:
            raise RedisError(f"task {task_sid}'s call kept moving: {MAX_TRIES} tries")
        label, newly, sid = (text(x) for x in reply[:3])
        pairs = [tuple(item.split(" ", 1)) for item in newly.split(",") if item]
        return label or None, [(a, b) for a, b in pairs], sid or None

    # -- read --------------------------------------------------------------------

    async def _available(self) -> dict[str, bool]:
        raw: Any = await self.redis.hgetall(self.key("activities"))
        return {text(k): text(v) == "1" for k, v in raw.items()}

    async def note_queues(self, names: Mapping[str, str]) -> int:
        """The Workspace's TaskQueues (SID -> name) as TaskRouter lists them: a queue nobody
        has called yet is on the wallboard too, at zero (a trial's lead found her team's
        queue missing until its first call). How many were new or renamed."""
        known: Any = await self.redis.hgetall(self.key("queues"))
        have = {text(k): text(v) for k, v in known.items()}
        changed: dict[Any, Any] = {
            sid: name for sid, name in names.items() if name and have.get(sid) != name
        }
        if changed:
            await self.redis.hset(self.key("queues"), mapping=changed)
        return len(changed)

    async def worker_registers(self) -> list[Worker]:
        """Every worker's registers, in two round trips (who they are, then every hash in
        one reply, each key passed in KEYS): a thousand pipelined HGETALLs cost redis-py far
        more per command than Redis (bench/queues.py measured it)."""
        members = cast("set[bytes]", await self.redis.smembers(self.key("workers")))
        sids = [text(m) for m in members]
        reply = cast(
            "list[list[bytes]]",
            await self._read_workers(keys=[self.key("worker", s) for s in sids]) if sids else [],
        )
        out = []
        for sid, flat in zip(sids, reply, strict=True):
            if flat:
                fields = {text(flat[j]): text(flat[j + 1]) for j in range(0, len(flat), 2)}
                out.append(worker_of(sid, fields))
        out.sort(key=lambda w: w["sid"])
        return out

    async def available_activities(self) -> dict[str, bool]:
        """The activities TaskRouter told of, and whether each is available."""
        return await self._available()

    def is_available(self, activity: str | None, known: Mapping[str, bool]) -> bool:
        return self._is_available(activity, known)

    def _is_available(self, activity: str | None, known: Mapping[str, bool]) -> bool:
        if activity is None:
            return False
        return known.get(activity, activity in AVAILABLE_BY_DEFAULT)

    async def agents(self) -> list[dict[str, Any]]:
        """Every worker as the contract's Agent, roster agents first, by name."""
        known, workers = await self._available(), await self.worker_registers()
        # Changes waiting for the end of a call (live/after_call.py): on the agent's row
        # until they happen, with who asked and why.
        pending = await self.after_call.all()
        # Where the busy ones are: their task's call, then its conference (idle workers,
        # most of a floor at quiet times, cost nothing here).
        busy_tasks = [
            task for w in workers if w.get("phase") in BUSY and (task := w.get("task_sid"))
        ]
        conference_of: dict[str, str] = {}
        if busy_tasks:
            async with self.redis.pipeline(transaction=False) as pipe:
                for sid in busy_tasks:
                    pipe.hget(self.key("task", sid), "call")
                calls = [text(c) if c else "-" for c in await pipe.execute()]
            found: Any = await self.redis.hmget(self.keys.calls, calls)
            conference_of = {t: text(c) for t, c in zip(busy_tasks, found, strict=True) if c}
        out = []
        now = time.time() * 1000
        for w in workers:
            conference = conference_of.get(w.get("task_sid") or "")
            agent = w.get("agent") or None
            team = self.roster.team_for(agent)
            busy = w.get("phase") in BUSY
            since_ms = w.get("activity_since_ms")
            since = int(since_ms) if since_ms else None
            available = self._is_available(w.get("activity"), known)
            alerts = self._agent_alerts(w, not available and not busy, now)
            phase_at = w.get("phase_at_ms")
            out.append(
                {
                    "agent": agent,
                    "worker_sid": w["sid"],
                    "name": w.get("name") or agent or "",
                    # The roster's display name (issue 25; null when it gives none): people read
                    # it before the Worker's friendly name, and the list sorts by its reading.
                    "agent_name": self._known(agent).name,
                    "team": team.name if team else None,
                    "activity": w.get("activity"),
                    "available": available and not busy,
                    "since": iso(since),
                    "task_sid": (w.get("task_sid") or None) if busy else None,
                    "conference_sid": conference if busy else None,
                    "phase": w.get("phase") if busy else None,
                    # Since when it holds its task (or wraps it up): the time the Agents view shows.
                    "phase_since": iso(int(phase_at)) if busy and phase_at else None,
                    "alerts": alerts,
                    "attention": attention.score(alerts),
                    "pending_change": pending.get(w["sid"]),
                }
            )
        # By reading where the roster gives one, else by the name's collation (live/names.py).
        out.sort(key=lambda a: (a["agent"] is None, names.sort_key(self._person(a))))
        return out

    def _known(self, agent: str | None) -> names.Person:
        return self.roster.agent_names.get(agent or "") or names.Person(agent or "")

    def _person(self, agent: dict[str, Any]) -> names.Person:
        known = self._known(agent["agent"])
        return names.Person(agent["agent"] or "", known.name or agent["name"], known.reading)

    async def queued(self) -> int:
        """Callers waiting in every TaskQueue, in one round trip."""
        names: Any = await self.redis.hkeys(self.key("queues"))
        if not names:
            return 0
        async with self.redis.pipeline(transaction=False) as pipe:
            for sid in names:
                pipe.zcard(self.key("waiting", text(sid)))
            return sum(int(n) for n in await pipe.execute())

    async def changed(self, kind: str, sids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The whole Queue (`kind` "queue") or Agent ("agent") of each SID, for the feed;
        one read of them all, however many changed."""
        wanted = set(sids)
        if kind == "queue":
            return {q["sid"]: q for q in await self.queues() if q["sid"] in wanted}
        return {a["worker_sid"]: a for a in await self.agents() if a["worker_sid"] in wanted}

    async def snapshot(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Every queue and every agent: what a wallboard shows, read once for both."""
        agents = await self.agents()
        return await self.queues(agents=agents), agents

    async def queues(
        self, now_s: float | None = None, agents: list[dict[str, Any]] | None = None
    ) -> list[dict[str, Any]]:
        """Every known TaskQueue as the contract's Queue, by name."""
        now_s = time.time() if now_s is None else now_s
        today = self.policy.day(now_s)
        names: Any = await self.redis.hgetall(self.key("queues"))
        queues = sorted(
            ((text(sid), text(name)) for sid, name in names.items()), key=lambda q: q[1]
        )
        async with self.redis.pipeline(transaction=False) as pipe:
            for sid, _ in queues:
                pipe.zrange(self.key("waiting", sid), 0, -1, withscores=True)
                pipe.hgetall(self.key("day", today, sid))
            replies: list[Any] = await pipe.execute()
        waiting = {
            sid: [(text(t), score) for t, score in replies[2 * i]]
            for i, (sid, _) in enumerate(queues)
        }
        shown = [t for tasks in waiting.values() for t, _ in tasks[:TASKS_SHOWN]]
        async with self.redis.pipeline(transaction=False) as pipe:
            for task in shown:
                pipe.hmget(self.key("task", task), "caller", "prio")
            details = dict(zip(shown, await pipe.execute(), strict=True))
        staff = self._staff(agents if agents is not None else await self.agents())
        out = []
        for i, (sid, name) in enumerate(queues):
            counts = {text(k): int(v) for k, v in replies[2 * i + 1].items()}
            tasks = waiting[sid]
            longest = max(0.0, now_s - tasks[0][1] / 1000) if tasks else 0.0
            figures = _today(counts)
            crew = staff.get(name, {"available": 0, "busy": 0, "other": 0})
            alerts = self._queue_alerts(name, longest, figures, crew)
            out.append(
                {
                    "sid": sid,
                    "name": name,
                    "waiting": len(tasks),
                    "longest_wait_seconds": int(longest),
                    "tasks": [
                        self._task_json(t, at, details.get(t), now_s)
                        for t, at in tasks[:TASKS_SHOWN]
                    ],
                    "today": figures,
                    "agents": crew,
                    "alerts": alerts,
                    "attention": attention.score(alerts),
                }
            )
        return out

    def _queue_alerts(
        self, name: str, longest: float, today: Mapping[str, Any], agents: Mapping[str, int]
    ) -> list[str]:
        policy, alerts = self.policy, []
        if longest >= self.threshold(name, "wait_alert_seconds"):
            alerts.append("long-wait")
        if longest >= policy.stuck_seconds and agents["available"] > 0:
            alerts.append("routing-stuck")
        level = today["service_level"]
        if level is not None and level < policy.service_level_target:
            alerts.append("service-level")
        return alerts

    def _agent_alerts(self, w: Worker, away: bool, now_ms: float) -> list[str]:
        policy = self.policy
        phase_at = w.get("phase_at_ms")
        wrapping = w.get("phase") == "wrapping" and phase_at
        if wrapping and phase_at and now_ms - int(phase_at) >= policy.wrapup_alert_seconds * 1000:
            return ["long-wrap-up"]
        since_ms = w.get("activity_since_ms")
        since = int(since_ms) if since_ms else None
        if not wrapping and away and since and now_ms - since >= policy.away_alert_seconds * 1000:
            return ["long-away"]
        return []

    def _task_json(self, sid: str, at_ms: float, detail: Any, now_s: float) -> dict[str, Any]:
        caller, prio = (text(x) if x is not None else None for x in (detail or (None, None)))
        return {
            "sid": sid,
            "waiting_seconds": int(max(0.0, now_s - at_ms / 1000)),
            "caller": mask_number(caller, self.mask, self.country) or None,
            "priority": int(prio) if prio else 0,
        }

    def _staff(self, agents: Iterable[dict[str, Any]]) -> dict[str, dict[str, int]]:
        """Per queue name: its roster team's agents available, busy, or neither."""
        out: dict[str, dict[str, int]] = {}
        for a in agents:
            team = self.roster.team_for(a["agent"])
            if team is None:
                continue
            counts = out.setdefault(team.queue, {"available": 0, "busy": 0, "other": 0})
            kind = "busy" if a["task_sid"] else "available" if a["available"] else "other"
            counts[kind] += 1
        return out


def _today(counts: Mapping[str, int]) -> dict[str, Any]:
    answered, abandoned = counts.get("answered", 0), counts.get("abandoned", 0)
    decided = answered + abandoned
    return {
        "entered": counts.get("entered", 0),
        "answered": answered,
        "abandoned": abandoned,
        "service_level": round(counts.get("answered_in_sl", 0) / decided, 4) if decided else None,
        "average_answer_seconds": round(counts.get("wait_ms", 0) / answered / 1000)
        if answered
        else None,
    }
