"""A simulated TaskRouter Workspace: callers wait in TaskQueues, Workers take them.

What it does, as TaskRouter does it:

- a caller becomes a Task (its attributes carry the caller's `call_sid`,
  `from` and `to`) in a TaskQueue, and waits: its Call is live, in no
  conference;
- the oldest waiting Task goes to an available Worker of its queue with no
  Task: a Reservation, which the simulated Worker accepts after a moment;
- on accept, the conference instruction makes a conference whose
  FriendlyName is the TaskSid, with the caller's call and a new call to the
  Worker's `contact_uri`, **neither labelled** (TaskRouter's conference
  instruction takes no participant labels; issue 12 checked a real floor);
- when that conference ends the Task goes to wrap-up, and to completed
  after `wrapup_seconds`; a caller who hangs up while waiting cancels it
  (reason `hangup`).

Every change is an event posted, signed like every webhook, to the
Workspace's EventCallbackUrl with TaskRouter's form fields (the "TaskRouter
Events reference" page: EventType, AccountSid, WorkspaceSid, WorkspaceName,
EventDescription, ResourceType, ResourceSid, Timestamp, then the Task,
Worker, TaskQueueSid, ReservationSid and WorkflowSid fields of the event).
There is no SequenceNumber: events carry `Timestamp` (epoch seconds) and
`TimestampMs`, and an event `Sid` (EV…).

Twilio's pages this follows:
- https://www.twilio.com/docs/taskrouter/api/event/reference (every event, its fields,
  and the 204 answer TaskRouter expects within 15 s);
- https://www.twilio.com/docs/taskrouter/api/reservations (a reservation's statuses);
- https://www.twilio.com/docs/api/errors/40144 (the conference instruction: `to`,
  `from`, no participant label among its parameters).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from twilio_sim.delivery import Deliverer
from twilio_sim.engine import Engine, SimError
from twilio_sim.model import Call, Conference, new_sid
from twilio_sim.overrides import NONE as NO_RETRY
from twilio_sim.taskrouter.model import (
    ASSIGNED,
    CANCELED,
    COMPLETED,
    LIVE,
    PENDING,
    RESERVED,
    WRAPPING,
    Activity,
    Queue,
    Reservation,
    Task,
    Worker,
)

ACTIVITIES = (("Available", True), ("Unavailable", False), ("Break", False), ("Offline", False))


@dataclass
class WorkspaceConfig:
    event_callback_url: str | None
    name: str = "Earpiece simulated floor"
    accept_seconds: float = 0.3  # a reserved Worker accepts after this
    wrapup_seconds: float = 2.0  # a Task wraps up this long after its conference ends
    caller_id: str = "+15005550006"
    # Event types never delivered (a test's lost events: TaskRouter retries none, so a lost
    # event stays lost until the reconciler repairs it from the REST API).
    lose: frozenset[str] = frozenset()
    # The Workspace's SID, when whoever starts the simulator must know it beforehand (the
    # demo gives it to the service as TWILIO_WORKSPACE_SID); else a new one.
    sid: str | None = None


class Workspace:
    def __init__(
        self, voice: Engine, deliverer: Deliverer, config: WorkspaceConfig, rng: random.Random
    ) -> None:
        self.voice, self.deliverer, self.config, self.rng = voice, deliverer, config, rng
        self.account = voice.config.account_sid
        self.sid = config.sid or new_sid("WS")
        self.created = time.time()
        self.workflow_sid, self.workflow_name = new_sid("WW"), "Earpiece routing"
        self.activities = {name: Activity(new_sid("WA"), name, ok) for name, ok in ACTIVITIES}
        self.queues: dict[str, Queue] = {}
        self.workers: dict[str, Worker] = {}
        self.tasks: dict[str, Task] = {}
        self.reservations: dict[str, Reservation] = {}
        self._timers: set[asyncio.Task[None]] = set()
        voice.on_conference_end.append(self._conference_ended)

    # -- set-up ---------------------------------------------------------------

    def queue(self, name: str) -> Queue:
        """The TaskQueue of that name, made on first use (its workers: that `queues` attribute)."""
        for q in self.queues.values():
            if q.name == name:
                return q
        q = Queue(new_sid("WQ"), name, f"queues HAS '{name}'")
        self.queues[q.sid] = q
        return q

    def add_worker(self, agent: str, queue_names: tuple[str, ...]) -> Worker:
        queues = tuple(self.queue(n).sid for n in queue_names)
        attributes = {"contact_uri": f"client:{agent}", "queues": list(queue_names)}
        worker = Worker(new_sid("WK"), agent, attributes, self.activities["Available"], queues)
        self.workers[worker.sid] = worker
        self._event(
            "worker.created", "Worker", worker.sid, f"Worker {agent} created", worker=worker
        )
        return worker

    def worker_named(self, agent: str) -> Worker:
        for w in self.workers.values():
            if w.name == agent:
                return w
        raise SimError(404, 20404, f"no worker {agent}")

    def task(self, sid: str) -> Task:
        if sid not in self.tasks:
            raise SimError(404, 20404, f"The requested resource /Tasks/{sid} was not found")
        return self.tasks[sid]

    # -- the life of a task ---------------------------------------------------

    def enqueue(self, queue_name: str, caller: str) -> Task:
        """A caller dials in and waits in `queue_name`: a live Call, and a pending Task."""
        queue = self.queue(queue_name)
        call = Call(
            sid=new_sid("CA"),
            account_sid=self.account,
            from_=caller,
            to=self.config.caller_id,
            direction="inbound",
            status="in-progress",
            started=time.time(),
        )
        self.voice.calls[call.sid] = call
        attributes = {
            "call_sid": call.sid,
            "from": caller,
            "to": self.config.caller_id,
            "direction": "inbound",
            "type": "inbound",
        }
        task = Task(new_sid("WT"), attributes, queue, self.workflow_sid)
        self.tasks[task.sid] = task
        self._event("task.created", "Task", task.sid, "Task created", task=task)
        self._event(
            "task-queue.entered",
            "Task",
            task.sid,
            f"Task {task.sid} entered TaskQueue {queue.name}",
            task=task,
        )
        self.route()
        return task

    def route(self) -> None:
        """Give each waiting task, oldest first, to a free available worker of its queue."""
        busy = {r.worker for r in self.reservations.values() if r.status == "pending"}
        for task in sorted(self.tasks.values(), key=lambda t: t.entered):
            if task.status != PENDING:
                continue
            free = [
                w
                for w in self.workers.values()
                if task.queue.sid in w.queues
                and w.activity.available
                and w.task is None
                and w.sid not in busy
            ]
            if not free:
                continue
            worker = min(free, key=lambda w: w.changed)  # the longest idle first
            busy.add(worker.sid)
            self._reserve(task, worker)

    def _reserve(self, task: Task, worker: Worker) -> None:
        res = Reservation(new_sid("WR"), task.sid, worker.sid)
        self.reservations[res.sid] = res
        task.status, task.updated, task.reservation = RESERVED, time.time(), res.sid
        self._event(
            "reservation.created",
            "Reservation",
            res.sid,
            f"Reservation {res.sid} created",
            task=task,
            worker=worker,
            reservation=res,
        )
        self._later(self.config.accept_seconds, lambda: self.accept(res.sid))

    def accept(self, reservation_sid: str) -> None:
        res = self.reservations[reservation_sid]
        task, worker = self.tasks[res.task], self.workers[res.worker]
        if res.status != "pending" or task.status != RESERVED:
            return  # the caller hung up meanwhile (the reservation was canceled)
        res.status, res.updated = "accepted", time.time()
        task.status, task.updated, task.worker = ASSIGNED, time.time(), worker.sid
        task.accepted = time.time()
        worker.task = task.sid
        self._event(
            "reservation.accepted",
            "Reservation",
            res.sid,
            f"Reservation {res.sid} accepted",
            task=task,
            worker=worker,
            reservation=res,
        )
        self._conference_instruction(task, worker)

    def _conference_instruction(self, task: Task, worker: Worker) -> None:
        """A new call to the worker and the caller's call, in a conference named for the task.

        In TaskRouter's order: it "connects agent into conference", waits for the agent's
        answer, then "moves the caller from the queue and into the conference"
        (https://www.twilio.com/docs/taskrouter/contact-center-blueprint/call-control-concepts),
        so the worker's leg joins first and the caller's join starts the conference. No
        participant labels: the conference instruction takes none."""
        conference = self.voice.new_conference(task.sid, self.voice.config.callback_url)
        caller = self.voice.calls[task.attributes["call_sid"]]
        self.voice.dial_in(
            task.sid,
            from_=self.config.caller_id,
            to=str(worker.attributes["contact_uri"]),
            label="",
            start_on_enter=True,
            end_on_exit=False,
            direction="outbound-api",
        )
        if conference.status == "completed" or caller.status != "in-progress":
            return  # the caller hung up while the worker answered
        self.voice.join_call(conference, caller, label="", start_on_enter=True, end_on_exit=True)

    def _conference_ended(self, conference: Conference) -> None:
        task = self.tasks.get(conference.friendly_name)
        if task is None or task.status != ASSIGNED:
            return  # (a task completed through the API while its call went on: done)
        self._wrap_up(task)
        self._later(self.config.wrapup_seconds, lambda: self.complete(task.sid))

    def _wrap_up(self, task: Task) -> None:
        task.status, task.updated = WRAPPING, time.time()
        worker = self.workers[task.worker] if task.worker else None
        res = self.reservations.get(task.reservation or "")
        if res is not None:
            res.status, res.updated = "wrapping", time.time()
        self._event("task.wrapup", "Task", task.sid, "Task wrapping up", task=task, worker=worker)
        if res is not None:
            self._event(
                "reservation.wrapup",
                "Reservation",
                res.sid,
                "Reservation wrapping up",
                task=task,
                worker=worker,
                reservation=res,
            )

    def complete(self, task_sid: str, reason: str | None = None) -> None:
        """The task's wrap-up ends (the simulated agent's, after `wrapup_seconds`), or the
        API completes it (assigned or wrapping)."""
        task = self.tasks[task_sid]
        if task.status not in ((WRAPPING, ASSIGNED) if reason else (WRAPPING,)):
            return
        task.status, task.updated = COMPLETED, time.time()
        task.reason = reason or "Task completed"
        worker = self.workers.get(task.worker or "")
        res = self.reservations.get(task.reservation or "")
        if res is not None:
            res.status, res.updated = "completed", time.time()
            self._event(
                "reservation.completed",
                "Reservation",
                res.sid,
                "Reservation completed",
                task=task,
                worker=worker,
                reservation=res,
            )
        self._event("task.completed", "Task", task.sid, "Task completed", task=task, worker=worker)
        if worker is not None:
            worker.task, worker.changed = None, time.time()
        self.route()

    def abandon(self, task_sid: str) -> Task:
        """The caller hangs up while waiting (or while reserved): the task is canceled."""
        task = self.task(task_sid)
        if task.status not in (PENDING, RESERVED):
            raise SimError(400, 20001, f"Task {task_sid} is {task.status}, not waiting")
        self._cancel(task, "hangup")
        call = self.voice.calls.get(task.attributes["call_sid"])
        if call is not None and call.status == "in-progress":
            call.status, call.ended = "completed", time.time()
        return task

    def _cancel(self, task: Task, reason: str) -> None:
        res = self.reservations.get(task.reservation or "")
        if res is not None and res.status == "pending":
            res.status, res.updated = "canceled", time.time()
            self._event(
                "reservation.canceled",
                "Reservation",
                res.sid,
                "Reservation canceled",
                task=task,
                worker=self.workers[res.worker],
                reservation=res,
            )
        task.status, task.updated, task.reason = CANCELED, time.time(), reason
        self._event("task.canceled", "Task", task.sid, "Task canceled", task=task)
        self.route()

    def set_activity(self, agent: str, name: str) -> Worker:
        worker = self.worker_named(agent)
        activity = self.activities.get(name)
        if activity is None:
            raise SimError(400, 20001, f"no activity {name!r}")
        return self.update_worker(worker, activity, reject_pending=not activity.available)

    def delete_activity(self, sid: str) -> None:
        """`DELETE /Activities/{WA}` (DeleteActivity in Twilio's OpenAPI file). "Workers are
        always set to a single Activity" (https://www.twilio.com/docs/taskrouter/activities),
        so one a Worker is in is refused rather than leave that Worker in none; the code and
        wording of Twilio's refusal there are not on its pages (20001 is its generic 400)."""
        activity = self.activity_by_sid(sid)
        held = [w.name for w in self.workers.values() if w.activity is activity]
        if held:
            raise SimError(
                400,
                20001,
                f"Activity {sid} is the Activity of {len(held)} Worker(s): it cannot be deleted",
            )
        del self.activities[activity.name]

    def activity_by_sid(self, sid: str) -> Activity:
        for activity in self.activities.values():
            if activity.sid == sid:
                return activity
        raise SimError(400, 20001, f"Activity {sid} does not exist in Workspace {self.sid}")

    def update_worker(
        self, worker: Worker, activity: Activity, *, reject_pending: bool = False
    ) -> Worker:
        """`POST /Workers/{WK}` with ActivitySid, as TaskRouter takes it:

        - `RejectPendingReservations` "is only valid if the Worker's new Activity resource
          has its availability property set to False" (UpdateWorkerRequest in
          shared/twilio-oai/twilio_taskrouter_v1.json), so it is refused with an available one;
        - a worker with a pending reservation may move between available activities (the
          reservation stays: "Agents with pending reservations can now move between
          Available states", TaskRouter changelog, 2024-04-08), but not to an unavailable
          one unless its pending reservations are rejected (error 14240's page:
          https://www.twilio.com/docs/api/errors/14240, "use rejectPendingReservations");
        - rejected reservations put their tasks back to pending (reservation.rejected),
          https://www.twilio.com/docs/taskrouter/lifecycle-task-state;
        - a worker on a task (assigned or wrapping) may change activity; the task stays.
        """
        pending = [
            r
            for r in self.reservations.values()
            if r.worker == worker.sid and r.status == "pending"
        ]
        if reject_pending and activity.available:
            raise SimError(
                400,
                20001,
                "RejectPendingReservations is only valid when the "
                "Worker's new Activity is not available",
            )
        if pending and not activity.available and not reject_pending:
            raise SimError(
                400,
                20001,
                f"Worker {worker.sid} has a pending reservation: it "
                f"cannot move to unavailable Activity {activity.name} "
                "unless RejectPendingReservations is true",
            )
        if reject_pending:
            for res in pending:
                res.status, res.updated = "rejected", time.time()
                task = self.tasks[res.task]
                if task.status == RESERVED and task.reservation == res.sid:
                    task.status, task.updated, task.reservation = PENDING, time.time(), None
                self._event(
                    "reservation.rejected",
                    "Reservation",
                    res.sid,
                    f"Reservation {res.sid} rejected",
                    task=task,
                    worker=worker,
                    reservation=res,
                )
        if activity is not worker.activity:
            previous, since = worker.activity, worker.changed
            worker.activity, worker.changed = activity, time.time()
            self._event(
                "worker.activity.update",
                "Worker",
                worker.sid,
                f"Worker {worker.name} updated to {activity.name} Activity",
                worker=worker,
                previous=(previous, since),
            )
        self.route()
        return worker

    def update_task(self, task: Task, status: str | None, reason: str | None) -> Task:
        """`POST /Tasks/{WT}` with AssignmentStatus, as TaskRouter takes it
        (https://www.twilio.com/docs/taskrouter/lifecycle-task-state and the Task resource's
        AssignmentStatus: `canceled` for a task pending or reserved, `wrapping` for an
        assigned one, `completed` for one assigned or wrapping; `Reason` "is required only if
        the Task is canceled or completed", UpdateTaskRequest in the OpenAPI file). Completing
        a task ends no call: the conference goes on, the worker is free for the next."""
        if status is None:
            return task
        where = f"task {task.sid} in workspace {self.sid} for account {self.account}"
        if status in (COMPLETED, CANCELED) and not reason:
            raise SimError(400, 20001, f"Reason is required to move {where} to {status}")
        if status == COMPLETED:
            if task.status not in (ASSIGNED, WRAPPING):
                raise SimError(
                    400,
                    20001,
                    f"Cannot complete {where} because it is not currently assigned or wrapping",
                )
            self.complete(task.sid, reason=reason)
        elif status == WRAPPING:
            if task.status != ASSIGNED:
                raise SimError(
                    400, 20001, f"Cannot wrap up {where} because it's not currently assigned"
                )
            self._wrap_up(task)
        elif status == CANCELED:
            if task.status not in (PENDING, RESERVED):
                raise SimError(
                    400,
                    20001,
                    f"Cannot cancel {where} because it is "
                    f"{task.status}: only a pending or reserved task "
                    "can be canceled",
                )
            self._cancel(task, reason or "")
        else:
            raise SimError(400, 20001, f"AssignmentStatus {status!r} cannot be set on {where}")
        return task

    # -- events -----------------------------------------------------------------

    def _event(
        self,
        kind: str,
        resource_type: str,
        resource_sid: str,
        description: str,
        *,
        task: Task | None = None,
        worker: Worker | None = None,
        reservation: Reservation | None = None,
        previous: tuple[Activity, float] | None = None,
    ) -> None:
        url = self.config.event_callback_url
        if not url or kind in self.config.lose:
            return
        now = time.time()
        params = {
            "EventType": kind,
            "AccountSid": self.account,
            "WorkspaceSid": self.sid,
            "WorkspaceName": self.config.name,
            "EventDescription": description,
            "ResourceType": resource_type,
            "ResourceSid": resource_sid,
            "Timestamp": str(int(now)),
            "TimestampMs": str(int(now * 1000)),
            "Sid": new_sid("EV"),
        }
        if task is not None:
            params.update(_task_fields(task, now))
            params.update(WorkflowSid=self.workflow_sid, WorkflowName=self.workflow_name)
        if worker is not None:
            params.update(_worker_fields(worker, now, previous))
        if reservation is not None:
            params["ReservationSid"] = reservation.sid
        # Sent once: TaskRouter's Events reference asks for a 204 within 15 s and documents
        # no retry, so a simulator that retried would be kinder than Twilio. A lost event is
        # the reconciler's to repair (coach/taskrouter_repair.py).
        self.deliverer.send(url, params, overrides=NO_RETRY)

    # -- timers -----------------------------------------------------------------

    def _later(self, seconds: float, then: Callable[[], Any]) -> None:
        async def run() -> None:
            await asyncio.sleep(seconds)
            then()

        try:
            timer = asyncio.get_running_loop().create_task(run())
        except RuntimeError:
            then()  # no loop (a direct call in a test): at once
            return
        self._timers.add(timer)
        timer.add_done_callback(self._timers.discard)

    async def stop(self) -> None:
        for timer in list(self._timers):
            timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await timer

    def state(self) -> dict[str, Any]:
        return {
            "workspace_sid": self.sid,
            "queues": {q.name: q.sid for q in self.queues.values()},
            "workers": {
                w.name: {"sid": w.sid, "activity": w.activity.name, "task": w.task}
                for w in self.workers.values()
            },
            "tasks": {
                t.sid: {
                    "status": t.status,
                    "queue": t.queue.name,
                    "call_sid": t.attributes["call_sid"],
                    "worker": t.worker,
                }
                for t in self.tasks.values()
                if t.status in LIVE
            },
        }


def _task_fields(task: Task, now: float) -> Mapping[str, str]:
    fields = {
        "TaskSid": task.sid,
        "TaskAttributes": orjson.dumps(task.attributes).decode(),
        "TaskAge": str(task.age(now)),
        "TaskPriority": str(task.priority),
        "TaskAssignmentStatus": task.status,
        "TaskDateCreated": str(int(task.created)),
        "TaskQueueEnteredDate": str(int(task.entered)),
        "TaskChannelUniqueName": "voice",
        "TaskQueueSid": task.queue.sid,
        "TaskQueueName": task.queue.name,
        "TaskQueueTargetExpression": task.queue.target_workers,
    }
    if task.status == CANCELED:
        fields.update(TaskCanceledReason=task.reason or "", Reason=task.reason or "")
    elif task.status == COMPLETED:
        fields.update(TaskCompletedReason=task.reason or "", Reason=task.reason or "")
    return fields


def _worker_fields(
    worker: Worker, now: float, previous: tuple[Activity, float] | None
) -> Mapping[str, str]:
    fields = {
        "WorkerSid": worker.sid,
        "WorkerName": worker.name,
        "WorkerAttributes": orjson.dumps(worker.attributes).decode(),
        "WorkerActivitySid": worker.activity.sid,
        "WorkerActivityName": worker.activity.name,
    }
    if previous is not None:
        activity, since = previous
        fields.update(
            WorkerPreviousActivitySid=activity.sid,
            WorkerPreviousActivityName=activity.name,
            WorkerTimeInPreviousActivity=str(int(now - since)),
            WorkerTimeInPreviousActivityMs=str(int((now - since) * 1000)),
        )
    return fields


__all__ = ["Workspace", "WorkspaceConfig"]
