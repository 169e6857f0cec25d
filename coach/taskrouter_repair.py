"""Repairing the queues and agents from TaskRouter's REST API (issue 12).

TaskRouter's events can be lost for good like conference callbacks. With
TWILIO_WORKSPACE_SID set, each reconciler pass also reads the Workspace's
live Tasks (pending, reserved, assigned, wrapping), its Workers and its
Activities, and turns what differs from Redis into the events that would
have said so. They go through the same script as TaskRouter's own events
(live/taskrouter.lua), so its ordering rules decide: an answer from the REST
API never overwrites a newer event that Redis already holds.

TaskRouter's REST times have whole seconds. A repair is dated at the end of
its second (+999 ms): within the second Redis last heard of, the REST
answer, read later, is the newer one.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import orjson

from coach.twilio_calls import TwilioCalls
from live.queues import LiveQueues, text
from live.store import now_ms
from live.taskrouter_events import STATUS_OF, TaskRouterEvent

log = logging.getLogger("earpiece.reconciler")

LIVE = ["pending", "reserved", "assigned", "wrapping"]
# The event each task status stands for, when a repair says it.
EVENT_OF_STATUS = {status: kind for kind, status in reversed(list(STATUS_OF.items()))}
EVENT_OF_STATUS.update({"pending": "task-queue.entered", "assigned": "reservation.accepted",
                        "wrapping": "task.wrapup", "completed": "task.completed"})  # fmt: skip
Link = Callable[[str], Awaitable[Any]]


def _ms(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return int(value.timestamp()) * 1000 + 999
    return None


def _seconds(value: Any) -> int | None:
    return int(value.timestamp()) if isinstance(value, datetime) else None


def task_event(task: Any, workspace_sid: str, status: str | None = None) -> TaskRouterEvent:
    """The event a REST Task stands for (its status now)."""
    status = status or task.assignment_status
    try:
        attributes = orjson.loads(task.attributes or "{}")
    except orjson.JSONDecodeError:
        attributes = {}
    return TaskRouterEvent(
        kind=EVENT_OF_STATUS.get(status, "task.updated"), at_ms=_ms(task.date_updated) or 0,
        workspace_sid=workspace_sid, task_sid=task.sid, status=status,
        queue_sid=task.task_queue_sid, queue_name=task.task_queue_friendly_name,
        entered_s=_seconds(task.task_queue_entered_date) or _seconds(task.date_created),
        priority=int(task.priority or 0),
        call_sid=attributes.get("call_sid") if isinstance(attributes, dict) else None,
        caller=attributes.get("from") if isinstance(attributes, dict) else None,
    )  # fmt: skip


class TaskRouterRepair:
    def __init__(
        self, queues: LiveQueues, twilio: TwilioCalls, workspace_sid: str, link: Link
    ) -> None:
        self.queues, self.twilio, self.workspace = queues, twilio, workspace_sid
        self.link = link  # labels the conference of a task found assigned

    async def _registers(self, sids: list[str], *fields: str) -> dict[str, list[Any]]:
        async with self.queues.redis.pipeline(transaction=False) as pipe:
            for sid in sids:
                pipe.hmget(self.queues.key("task", sid), *fields)
            replies = await pipe.execute()
        return dict(zip(sids, replies, strict=True))

    async def run_once(self) -> dict[str, int]:
        """One comparison with TaskRouter; the repairs made, by kind."""
        repairs: dict[str, int] = {}
        ws, queues = self.workspace, self.queues

        def count(kind: str) -> None:
            repairs[kind] = repairs.get(kind, 0) + 1

        for activity in await self.twilio.list_activities(ws):
            await queues.apply(TaskRouterEvent(
                kind="activity.updated", at_ms=0, workspace_sid=ws,
                activity=activity.friendly_name, activity_available=bool(activity.available),
            ))  # fmt: skip
        here: Any = await queues.redis.smembers(queues.key("tasks"))
        known = sorted(text(s) for s in here)
        there = {t.sid: t for t in await self.twilio.list_tasks(ws, LIVE)}
        registers = await self._registers(sorted({*known, *there}), "st", "acc")
        for sid, task in there.items():
            status, accepted = registers.get(sid, [None, None])
            if (text(status) if status else None) != task.assignment_status or (
                task.assignment_status in ("assigned", "wrapping") and accepted is None
            ):
                if await queues.apply(task_event(task, ws)) == "applied":
                    count("task")
                if task.assignment_status == "assigned":
                    await self.link(sid)
        for sid in known:
            if sid in there:
                continue
            task = await self.twilio.fetch_task(ws, sid)  # it ended while nobody told us
            event = task_event(task, ws) if task is not None else None
            if event is None:
                event = TaskRouterEvent(kind="task.deleted", at_ms=0, workspace_sid=ws,
                                        task_sid=sid, status="deleted")  # fmt: skip
                event.at_ms = now_ms()  # TaskRouter has forgotten it: nothing newer will come
            if await queues.apply(event) == "applied":
                count("task-ended")
        workers = {w["sid"]: w for w in await queues.worker_registers()}
        for worker in await self.twilio.list_workers(ws):
            mine = workers.get(worker.sid, {})
            if mine.get("act") == worker.activity_name:
                continue
            try:
                contact = orjson.loads(worker.attributes or "{}").get("contact_uri")
            except (orjson.JSONDecodeError, AttributeError):
                contact = None
            event = TaskRouterEvent(
                kind="worker.activity.update", at_ms=_ms(worker.date_status_changed) or 0,
                workspace_sid=ws, worker_sid=worker.sid, worker_name=worker.friendly_name,
                contact_uri=contact if isinstance(contact, str) else None,
                activity=worker.activity_name,
            )  # fmt: skip
            if await queues.apply(event) == "applied":
                count("worker")
        if repairs:
            log.info("reconciled the queues with TaskRouter: %s", repairs)
        return repairs
