"""Repairing the queues and agents from TaskRouter's REST API (issues 12 and 21).

TaskRouter's events can be lost for good like conference callbacks. With
TWILIO_WORKSPACE_SID set, each reconciler pass also reads the Workspace's
live Tasks (pending, reserved, assigned, wrapping), its Workers and its
Activities, and turns what differs from Redis into the events that would
have said so. They go through the same script as TaskRouter's own events
(live/taskrouter.lua), so its ordering rules decide: an answer from the REST
API never overwrites a newer event that Redis already holds.

What Twilio really returns (issue 21). A Task's and a Worker's `attributes`
are answered by a fetch only; a list answers them null ("it will only be
displayed in FETCH action that returns a single resource. Otherwise, it will
be null": the `attributes` descriptions of taskrouter.v1.workspace.task and
.worker in shared/twilio-oai/twilio_taskrouter_v1.json). And no Task says
which Worker took it: that is its accepted Reservation
(`GET /v1/Workspaces/{WS}/Tasks/{WT}/Reservations`, whose items carry
`worker_sid`, `worker_name` and `reservation_status`). So a repair that must
label a TaskRouter conference (the customer is the task's `call_sid`, the
agent is the accepted reservation's worker, live/taskrouter_link.lua) reads:

- the Task itself (`tasks(WT).fetch()`), only when Redis has no caller's call
  for it and this process has not read its attributes yet;
- the Task's reservations (`tasks(WT).reservations.list()`, one page: a task
  has a handful), only for a task assigned or wrapping whose worker Redis
  does not know;
- a Worker (`workers(WK).fetch()`, for its `contact_uri`), only when a repair
  needs its agent, Redis does not know that agent, its `friendly_name` is not
  a roster agent, and this process has not fetched it yet.

What a pass costs. Always: 4 requests (Activities, TaskQueues, Tasks, Workers lists; one
more page per 1,000 live tasks or workers), plus a fetch per task Redis holds
live that TaskRouter no longer lists (a lost end: usually none). On a floor
whose events arrive, nothing more: every event carries TaskAttributes and the
Worker. After lost events: at most 2 per task whose events were lost (its
fetch, its reservations) and 1 per worker, once. After an empty Redis on the
300-seat jp1 floor (300 Workers on calls): 300 fetches and 300 reservation
lists. So the reads beyond the four lists are capped at `reads_per_pass`
(READS_PER_PASS, 200) per pass: busy tasks first, a task's two reads together
(each pass labels whole conferences), then the workers they need, then
waiting tasks, then ended ones; what the cap leaves is read on the next pass
(every EARPIECE_RECONCILE_SECONDS, 30 s). bench/taskrouter_repair.py measured
it on the simulator: 204 requests a pass, 100 more conferences labelled each,
all 300 after 3 passes (without the cap: 604 requests in one pass), then 4
requests a pass (the TaskQueues list is the fourth: a queue nobody has called yet is on
the wallboard too). Why a cap: TaskRouter's rate limits are per Workspace and
per endpoint and shown only on the Console's Limits page
(https://www.twilio.com/docs/taskrouter/limits), and the agents' own
softphones and Flex share them; 200 reads, 4 at a time, take a few seconds,
and a 429 is retried with backoff (core/twilio_calls.py). A busy task whose
reservations name no worker (Twilio never says so of an assigned task) is
read again each pass, within the cap.

TaskRouter's REST times have whole seconds. A repair is dated at the end of
its second (+999 ms): within the second Redis last heard of, the REST
answer, read later, is the newer one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from core.documents import Worker
from core.twilio_calls import TwilioCalls
from live.queues import LiveQueues, text
from live.store import now_ms
from live.taskrouter_events import STATUS_OF, TaskRouterEvent

log = logging.getLogger("earpiece.reconciler")

LIVE = ["pending", "reserved", "assigned", "wrapping"]
BUSY = ("assigned", "wrapping")
# The event each task status stands for, when a repair says it.
EVENT_OF_STATUS = {status: kind for kind, status in reversed(list(STATUS_OF.items()))}
EVENT_OF_STATUS.update(
    {
        "pending": "task-queue.entered",
        "assigned": "reservation.accepted",
        "wrapping": "task.wrapup",
        "completed": "task.completed",
    }
)
# A reservation in one of these statuses was accepted: its worker took the task.
ANSWERED = ("accepted", "wrapping", "completed")
# Reads beyond the four lists, per pass (see the module's note on what a pass costs).
READS_PER_PASS = 200
CONCURRENCY = 4  # reads in flight at once, like the conference reconciler's
Link = Callable[[str], Awaitable[Any]]
# Told of an agent a repair labelled on a conference (ConferenceSid, agent): the coach's
# agent_identified, so that a supervisor following that agent joins, as after the event.
Identified = Callable[[str, str], None]


def _ms(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return int(value.timestamp()) * 1000 + 999
    return None


def _seconds(value: Any) -> int | None:
    return int(value.timestamp()) if isinstance(value, datetime) else None


def attributes_of(resource: Any) -> dict[str, Any]:
    """A fetched Task's or Worker's attributes; {} when absent (a list's null) or not JSON."""
    try:
        value = orjson.loads(resource.attributes or "{}")
    except (orjson.JSONDecodeError, TypeError):
        return {}
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def task_event(
    task: Any,
    workspace_sid: str,
    status: str | None = None,
    attributes: dict[str, Any] | None = None,
) -> TaskRouterEvent:
    """The event a REST Task stands for (its status now). `attributes`: the task's, from a
    fetch (a listed task has none: its caller stays unknown)."""
    status = status or task.assignment_status
    attributes = attributes if attributes is not None else attributes_of(task)
    return TaskRouterEvent(
        kind=EVENT_OF_STATUS.get(status, "task.updated"),
        at_ms=_ms(task.date_updated) or 0,
        workspace_sid=workspace_sid,
        task_sid=task.sid,
        status=status,
        queue_sid=task.task_queue_sid,
        queue_name=task.task_queue_friendly_name,
        entered_s=_seconds(task.task_queue_entered_date) or _seconds(task.date_created),
        priority=int(task.priority or 0),
        call_sid=_str(attributes.get("call_sid")),
        caller=_str(attributes.get("from")) or _str(attributes.get("caller")),
    )


@dataclass
class Budget:
    """The reads a pass may still make; what it had to leave, for the log."""

    left: int
    deferred: int = 0

    def take(self, reads: int = 1) -> bool:
        """All `reads` or none (a task is labelled by its fetch and its reservations)."""
        if reads > self.left:
            self.deferred += reads
            return False
        self.left -= reads
        return True


@dataclass
class Taker:
    """Who took a task: its accepted reservation's worker, and when it was accepted."""

    worker_sid: str
    worker_name: str | None
    at_ms: int


@dataclass
class Found:
    """What one pass read beyond the lists."""

    takers: dict[str, Taker | None] = field(default_factory=dict)  # None: none accepted


class TaskRouterRepair:
    def __init__(
        self,
        queues: LiveQueues,
        twilio: TwilioCalls,
        workspace_sid: str,
        link: Link,
        *,
        reads_per_pass: int = READS_PER_PASS,
        identified: Identified | None = None,
    ) -> None:
        self.queues, self.twilio, self.workspace = queues, twilio, workspace_sid
        self.link = link  # labels the conference of a task found assigned
        self.identified = identified
        self.reads_per_pass = reads_per_pass
        # What this process has read once and need not read again (kept for the tasks and
        # workers TaskRouter still lists): a task's attributes, a worker's contact_uri.
        self._attributes: dict[str, dict[str, Any]] = {}
        self._contacts: dict[str, str | None] = {}
        self.deferred = 0  # reads the last pass left to the next (the cap)

    async def _registers(self, sids: list[str], *fields: str) -> dict[str, list[Any]]:
        async with self.queues.redis.pipeline(transaction=False) as pipe:
            for sid in sids:
                pipe.hmget(self.queues.key("task", sid), *fields)
            replies = await pipe.execute()
        return dict(zip(sids, replies, strict=True))

    async def _gather(self, reads: list[Awaitable[None]]) -> None:
        gate = asyncio.Semaphore(CONCURRENCY)

        async def one(read: Awaitable[None]) -> None:
            async with gate:
                await read

        await asyncio.gather(*(one(r) for r in reads))

    async def _fetch_task(self, sid: str) -> None:
        """A task's attributes (a list answers them null)."""
        fetched = await self.twilio.fetch_task(self.workspace, sid)
        if fetched is not None:
            self._attributes[sid] = attributes_of(fetched)

    async def _read_taker(self, sid: str, found: Found) -> None:
        """A busy task's accepted reservation: the worker who took it."""
        answered = [
            r
            for r in await self.twilio.list_task_reservations(self.workspace, sid)
            if r.reservation_status in ANSWERED and r.worker_sid
        ]
        if not answered:
            found.takers[sid] = None
            return
        # One task has one accepted reservation; the earliest, should Twilio say two.
        first = min(answered, key=lambda r: _ms(r.date_created) or 0)
        # Accepted: its last change was the accept. Wrapping or completed: it changed
        # since, and was accepted after it was created (the nearest time it has).
        at = first.date_updated if first.reservation_status == "accepted" else None
        found.takers[sid] = Taker(
            first.worker_sid, first.worker_name, _ms(at or first.date_created) or 0
        )

    async def _read_contacts(self, sids: list[str], budget: Budget) -> None:
        async def fetch(worker_sid: str) -> None:
            worker = await self.twilio.fetch_worker(self.workspace, worker_sid)
            contact = attributes_of(worker).get("contact_uri") if worker else None
            self._contacts[worker_sid] = _str(contact)

        await self._gather([fetch(s) for s in sids if budget.take()])

    def _needs_contact(self, sid: str, name: str | None, mine: Worker | None) -> bool:
        """Whether the agent a worker is can only come from its fetched contact_uri."""
        if (mine is not None and mine.get("agent")) or sid in self._contacts:
            return False
        return self.queues.agent_of(None, name) is None

    async def run_once(self) -> dict[str, int]:
        """One comparison with TaskRouter; the repairs made, by kind."""
        repairs: dict[str, int] = {}
        ws, queues = self.workspace, self.queues
        budget, found = Budget(self.reads_per_pass), Found()

        def count(kind: str) -> None:
            repairs[kind] = repairs.get(kind, 0) + 1

        for activity in await self.twilio.list_activities(ws):
            await queues.apply(
                TaskRouterEvent(
                    kind="activity.updated",
                    at_ms=0,
                    workspace_sid=ws,
                    activity=activity.friendly_name,
                    activity_available=bool(activity.available),
                )
            )
        listed_queues = await self.twilio.list_task_queues(ws)
        new_queues = await queues.note_queues({q.sid: q.friendly_name for q in listed_queues})
        if new_queues:
            repairs["queue"] = new_queues
        here: Any = await queues.redis.smembers(queues.key("tasks"))
        known = sorted(text(s) for s in here)
        there = {t.sid: t for t in await self.twilio.list_tasks(ws, LIVE)}
        listed_workers = await self.twilio.list_workers(ws)
        workers = {w["sid"]: w for w in await queues.worker_registers()}
        self._attributes = {s: a for s, a in self._attributes.items() if s in there}
        names = {w.sid: w.friendly_name for w in listed_workers}
        self._contacts = {s: c for s, c in self._contacts.items() if s in names}
        registers = await self._registers(sorted({*known, *there}), "st", "acc", "call", "worker")

        # Which listed tasks Redis has wrong or incomplete, busy ones first.
        stale: list[Any] = []
        for sid, task in there.items():
            status, accepted, call, worker = registers.get(sid, [None, None, None, None])
            busy = task.assignment_status in BUSY
            if (
                (text(status) if status else None) != task.assignment_status
                or (busy and (accepted is None or worker is None))
                or (call is None and sid not in self._attributes)
            ):
                stale.append(task)
        stale.sort(key=lambda t: (t.assignment_status not in BUSY, t.sid))
        unread = {
            t.sid
            for t in stale
            if registers.get(t.sid, [None] * 4)[2] is None and t.sid not in self._attributes
        }
        busy_tasks = [t for t in stale if t.assignment_status in BUSY]
        # A busy task's reads together (its fetch, its reservations), so that each pass
        # labels whole conferences rather than half of each.
        reads: list[Awaitable[None]] = []
        for task in busy_tasks:
            fetch = task.sid in unread
            taker = registers.get(task.sid, [None] * 4)[3] is None
            if not budget.take(int(fetch) + int(taker)):
                continue
            if fetch:
                reads.append(self._fetch_task(task.sid))
            if taker:
                reads.append(self._read_taker(task.sid, found))
        await self._gather(reads)
        # The workers whose agent a repair needs and only a fetch can tell.
        wanted = [taker.worker_sid for taker in found.takers.values() if taker is not None]
        wanted += [
            w.sid for w in listed_workers if _activity(workers.get(w.sid)) != w.activity_name
        ]
        wanted = [
            s for s in dict.fromkeys(wanted) if self._needs_contact(s, names.get(s), workers.get(s))
        ]
        await self._read_contacts(wanted, budget)
        waiting = [t for t in stale if t.sid in unread and t not in busy_tasks]
        await self._gather([self._fetch_task(t.sid) for t in waiting if budget.take()])

        for worker in listed_workers:
            if _activity(workers.get(worker.sid)) == worker.activity_name:
                continue
            event = TaskRouterEvent(
                kind="worker.activity.update",
                at_ms=_ms(worker.date_status_changed) or 0,
                workspace_sid=ws,
                worker_sid=worker.sid,
                worker_name=worker.friendly_name,
                contact_uri=self._contacts.get(worker.sid),
                activity=worker.activity_name,
            )
            if await queues.apply(event) == "applied":
                count("worker")

        for task in stale:
            sid = task.sid
            if await self._repair_task(task, registers.get(sid), found, names):
                count("task")
            if task.assignment_status == "assigned":
                await self.link(sid)

        for sid in known:
            if sid in there:
                continue
            if not budget.take():
                continue
            task = await self.twilio.fetch_task(ws, sid)  # it ended while nobody told us
            ended = task_event(task, ws) if task is not None else None
            if ended is None:
                ended = TaskRouterEvent(
                    kind="task.deleted", at_ms=0, workspace_sid=ws, task_sid=sid, status="deleted"
                )
                ended.at_ms = now_ms()  # TaskRouter has forgotten it: nothing newer will come
            if await queues.apply(ended) == "applied":
                count("task-ended")
        self.deferred = budget.deferred
        if budget.deferred:
            log.info(
                "TaskRouter repair: %d reads left to the next pass (%d a pass)",
                budget.deferred,
                self.reads_per_pass,
            )
        if repairs:
            log.info("reconciled the queues with TaskRouter: %s", repairs)
        return repairs

    async def _repair_task(
        self, task: Any, registers: list[Any] | None, found: Found, names: dict[str, str]
    ) -> bool:
        """Apply what a listed task says; whether anything changed."""
        ws, sid, status = self.workspace, task.sid, task.assignment_status
        event = task_event(task, ws, attributes=self._attributes.get(sid, {}))
        if status not in BUSY:
            return await self.queues.apply(event) == "applied"
        held_by = text(registers[3]) if registers is not None and registers[3] else None
        if held_by is not None:
            # Redis knows who took it: its status now (the acceptance is already there).
            if status == "assigned":
                event.kind = "task.updated"
            else:
                event.worker_sid = held_by  # so that the wrap-up moves its worker too
            return await self.queues.apply(event) == "applied"
        taker = found.takers.get(sid)
        if taker is None or await self._unidentified(taker):
            # Who took it is not read yet (the cap) or not known as an agent yet: its status
            # now, and the acceptance on a later pass (the first acceptance stays, so one
            # naming nobody would leave the agent's leg unlabelled: live/taskrouter.lua).
            event.kind = "task.updated"
            return await self.queues.apply(event) == "applied"
        accepted = TaskRouterEvent(
            kind="reservation.accepted",
            workspace_sid=ws,
            task_sid=sid,
            # Assigned: the task's last change was the accept. Wrapping: it changed since.
            at_ms=event.at_ms if status == "assigned" else taker.at_ms,
            status="assigned" if status == "assigned" else None,
            queue_sid=event.queue_sid,
            queue_name=event.queue_name,
            entered_s=event.entered_s,
            priority=event.priority,
            call_sid=event.call_sid,
            caller=event.caller,
            worker_sid=taker.worker_sid,
            worker_name=taker.worker_name or names.get(taker.worker_sid),
            contact_uri=self._contacts.get(taker.worker_sid),
        )
        outcome, conference, newly = await self.queues.apply_and_link(accepted)
        changed = outcome == "applied"
        for _, label in newly:
            if conference and label.startswith("agent:") and self.identified is not None:
                self.identified(conference, label.removeprefix("agent:"))
        if status == "assigned":
            return changed
        event.worker_sid, event.worker_name = accepted.worker_sid, accepted.worker_name
        event.contact_uri = accepted.contact_uri
        return await self.queues.apply(event) == "applied" or changed

    async def _unidentified(self, taker: Taker) -> bool:
        """Whether the agent who took a task cannot be told yet: its name is no roster agent,
        its contact_uri was not read (the cap), and Redis knows no agent for it."""
        if taker.worker_sid in self._contacts or self.queues.agent_of(None, taker.worker_name):
            return False
        agent: Any = await self.queues.redis.hget(
            self.queues.key("worker", taker.worker_sid), "agent"
        )
        return agent is None


def _activity(worker: Worker | None) -> str | None:
    return worker.get("activity") if worker is not None else None
