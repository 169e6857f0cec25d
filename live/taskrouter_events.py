"""TaskRouter's event callback, as one checked, normalised event (issue 12).

TaskRouter posts every event of a Workspace to its EventCallbackUrl as a form
(Twilio's "TaskRouter Events reference": EventType, AccountSid, WorkspaceSid,
ResourceType, ResourceSid, Timestamp, then the Task, Worker, TaskQueue and
Reservation fields of the event). There is no SequenceNumber: the order of a
task's or a worker's events comes from their time (`TimestampMs`, else
`Timestamp` in seconds) and, within one millisecond, from how far along the
task's life each event is. Parsing is strict about what the live state needs
and lenient about the rest (Twilio adds fields; an event type Earpiece has no
use for is accepted and ignored).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from live.events import BadEvent
from live.numbers import SAFE_INTEGER, instant_s, whole

# How far along its life each status puts a task: the later one wins a tie in time.
STATUS_RANK: Mapping[str, int] = {
    "pending": 0, "reserved": 1, "assigned": 2, "wrapping": 3,
    "completed": 4, "canceled": 4, "deleted": 5,
}  # fmt: skip
# What each event says of its task when the event carries no TaskAssignmentStatus.
STATUS_OF: Mapping[str, str] = {
    "task.created": "pending", "task-queue.entered": "pending", "task-queue.moved": "pending",
    "reservation.created": "reserved", "reservation.accepted": "assigned",
    "reservation.rejected": "pending", "reservation.timeout": "pending",
    "reservation.canceled": "pending", "reservation.rescinded": "pending",
    "task.wrapup": "wrapping", "reservation.wrapup": "wrapping",
    "task.completed": "completed", "reservation.completed": "completed",
    "task.canceled": "canceled", "task.deleted": "deleted",
}  # fmt: skip
# What each event says of its worker's hold on the task.
WORKER_PHASE: Mapping[str, str] = {
    "reservation.accepted": "assigned",
    "task.wrapup": "wrapping",
    "reservation.wrapup": "wrapping",
    "task.completed": "none",
    "reservation.completed": "none",
    "task.canceled": "none",
    "task.deleted": "none",
}
KNOWN = frozenset(STATUS_OF) | {
    "worker.activity.update",
    "worker.created",
    "worker.deleted",
    "worker.attributes.update",
    "worker.capacity.update",
    "task.updated",
    "task-queue.created",
    "task-queue.deleted",
    "activity.created",
    "activity.updated",
    "activity.deleted",
}
# Bounds on what a signed event may carry (attributes are JSON a customer's app writes).
MAX_ATTRIBUTES = 16 * 1024
MAX_TEXT = 256
# Events more than this far from now are refused: a signed Timestamp of year 9999 must not
# pin a register forever (issue 13's "no poison").
MAX_SKEW_MS = 24 * 3600 * 1000
# A task's priority: Twilio's Task resource says "integer" (taskrouter OpenAPI, `priority`);
# a workflow sets it, and nothing past a 32-bit integer is a priority anyone means.
MAX_PRIORITY = 2**31 - 1
# When a task was made or entered its queue: not in the future (beyond the clock skew
# allowed an event), and not before a task could still be alive (Twilio's task TTL is
# at most 2 weeks: Twilio's taskrouter OpenAPI, CreateTaskRequest `Timeout`, "up to a
# maximum of 2 weeks"; https://www.twilio.com/docs/taskrouter/api/task).
TASK_PAST_SECONDS = 15 * 24 * 3600


@dataclass(slots=True)
class TaskRouterEvent:
    kind: str
    at_ms: int
    workspace_sid: str
    task_sid: str | None = None
    status: str | None = None
    queue_sid: str | None = None
    queue_name: str | None = None
    entered_s: int | None = None  # when the task entered its queue (TaskQueueEnteredDate)
    priority: int = 0
    call_sid: str | None = None  # the caller's call (TaskAttributes.call_sid)
    caller: str | None = None  # TaskAttributes.from
    worker_sid: str | None = None
    worker_name: str | None = None
    contact_uri: str | None = None  # WorkerAttributes.contact_uri
    activity: str | None = None
    activity_available: bool | None = None  # activity.* events say it
    reservation_sid: str | None = None
    sid: str | None = None  # the event's own Sid (EV…): a repeat has the same one
    previous_activity: str | None = None  # worker.activity.update: the activity it left
    previous_ms: int | None = None  # and how long it was in it (WorkerTimeInPreviousActivity)

    @property
    def rank(self) -> int:
        return STATUS_RANK.get(self.status or "", -1)

    @property
    def worker_phase(self) -> str | None:
        return WORKER_PHASE.get(self.kind)


def _text(params: Mapping[str, str], name: str) -> str | None:
    value = params.get(name)
    if not value:
        return None
    if len(value) > MAX_TEXT:
        raise BadEvent(f"{name} is longer than {MAX_TEXT} characters")
    return value


def _attributes(params: Mapping[str, str], name: str) -> dict[str, Any]:
    raw = params.get(name)
    if not raw:
        return {}
    if len(raw) > MAX_ATTRIBUTES:
        raise BadEvent(f"{name} is larger than {MAX_ATTRIBUTES} bytes")
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BadEvent(f"{name} is not JSON") from None
    return value if isinstance(value, dict) else {}


def _moment(params: Mapping[str, str], name: str, received_ms: int) -> int | None:
    return instant_s(params, name, received_ms, TASK_PAST_SECONDS, MAX_SKEW_MS / 1000)


def _str(value: Any) -> str | None:
    return value[:MAX_TEXT] if isinstance(value, str) and value else None


def parse_taskrouter_event(params: Mapping[str, str], received_ms: int) -> TaskRouterEvent:
    """The event, or BadEvent saying why not (the 400's reason)."""
    kind = params.get("EventType")
    if not kind:
        raise BadEvent("EventType is missing")
    workspace = params.get("WorkspaceSid")
    if not workspace:
        raise BadEvent("WorkspaceSid is missing")
    # Both stamps bounded, whichever is used: "inf" or "1e400" is a 400 naming the field,
    # never an OverflowError (a 500), whatever else the event carries.
    at_ms = whole(params, "TimestampMs", 0, SAFE_INTEGER)
    seconds = whole(params, "Timestamp", 0, SAFE_INTEGER // 1000)
    stamp = "TimestampMs" if at_ms is not None else "Timestamp"
    if at_ms is None:
        if seconds is None:
            raise BadEvent("Timestamp is missing")
        at_ms = seconds * 1000
    if abs(at_ms - received_ms) > MAX_SKEW_MS:
        raise BadEvent(f"{stamp} is more than a day from now")
    event = TaskRouterEvent(kind=kind[:64], at_ms=at_ms, workspace_sid=workspace[:64])
    event.sid = _text(params, "Sid")
    if kind not in KNOWN:
        return event  # accepted, and of no use to the floor
    event.task_sid = _text(params, "TaskSid")
    if event.task_sid is not None:
        status = params.get("TaskAssignmentStatus") or STATUS_OF.get(kind)
        event.status = status if status in STATUS_RANK else STATUS_OF.get(kind)
        if kind == "task.canceled":
            event.status = "canceled"  # whatever the field says, the event is the end
        event.queue_sid = _text(params, "TaskQueueSid")
        event.queue_name = _text(params, "TaskQueueName")
        entered = _moment(params, "TaskQueueEnteredDate", received_ms)
        created = _moment(params, "TaskDateCreated", received_ms)
        event.entered_s = entered or created
        event.priority = whole(params, "TaskPriority", 0, MAX_PRIORITY) or 0
        attributes = _attributes(params, "TaskAttributes")
        event.call_sid = _str(attributes.get("call_sid"))
        event.caller = _str(attributes.get("from")) or _str(attributes.get("caller"))
    event.worker_sid = _text(params, "WorkerSid")
    if event.worker_sid is not None:
        event.worker_name = _text(params, "WorkerName")
        event.contact_uri = _str(_attributes(params, "WorkerAttributes").get("contact_uri"))
        event.activity = _text(params, "WorkerActivityName")
        event.previous_activity = _text(params, "WorkerPreviousActivityName")
        # Milliseconds when the event has them (schema version 2), else seconds (Twilio's
        # Event Streams worker page: worker_time_in_previous_activity is in seconds).
        ms = whole(params, "WorkerTimeInPreviousActivityMs", 0, SAFE_INTEGER)
        seconds = whole(params, "WorkerTimeInPreviousActivity", 0, SAFE_INTEGER // 1000)
        event.previous_ms = ms if ms is not None else (seconds * 1000 if seconds else None)
    if kind.startswith("activity."):
        event.activity = _text(params, "ActivityName")
        event.activity_available = params.get("ActivityAvailable", "").lower() == "true"
    event.reservation_sid = _text(params, "ReservationSid")
    return event
