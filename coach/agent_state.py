"""Agents' activities and stuck wrap-ups, from the board (issue 27 §1, §2), through the twilio SDK.

- set an agent's TaskRouter activity now, or after their current call and wrap-up (the
  rule of "after" is live/after_call.py's; this module makes the change when it is
  claimed), or cancel a waiting change;
- complete the task an agent left in wrap-up, with a reason.

TaskRouter's rules, checked against Twilio's pages (and the simulator follows them):

- a worker with a pending reservation cannot move to an unavailable activity unless its
  pending reservations are rejected, and `RejectPendingReservations` is valid only towards
  an unavailable activity (UpdateWorkerRequest in shared/twilio-oai/twilio_taskrouter_v1.json;
  https://www.twilio.com/docs/api/errors/14240). A floor manager who sends an agent to a
  break means it: the pending reservation is rejected and the caller goes to the next
  agent (TaskRouter puts the task back to pending:
  https://www.twilio.com/docs/taskrouter/lifecycle-task-state). Towards an available
  activity nothing is rejected.
- a task is completed from `assigned` or `wrapping`, with a `Reason` ("required only if
  the Task is canceled or completed", UpdateTaskRequest); completing ends no call.

Twilio's refusals reach the supervisor as Twilio's message (core/twilio_calls.py). Every
change is audited under the supervisor who asked (an after-call change: under the one who
asked for it, when it happens).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from core.audit import Audit
from core.twilio_calls import TwilioCalls
from core.twilio_errors import CoachError
from live.after_call import PendingChange
from live.queues import LiveQueues
from live.taskrouter_events import TaskRouterEvent

log = logging.getLogger("earpiece.agent_state")

ACTIVITIES_TTL_SECONDS = 60.0
MAX_REASON = 200
MAX_ACTIVITY = 64  # TaskRouter's Activity FriendlyName is short; a longer one is no activity
NOW, AFTER_CALL = "now", "after-call"
NO_TASKROUTER = (
    "this floor has no TaskRouter Workspace (TWILIO_WORKSPACE_SID is not set): "
    "agents' activities and wrap-ups are not Earpiece's to change here"
)


@dataclass(frozen=True)
class Activity:
    sid: str
    name: str
    available: bool

    def json(self) -> dict[str, Any]:
        return {"sid": self.sid, "name": self.name, "available": self.available}


def clean_reason(raw: Any, *, required: bool) -> str:
    """A supervisor's reason: text, one line, bounded (it is shown on rows and sent to Twilio)."""
    if raw is None or raw == "":
        if required:
            raise CoachError(422, "bad-body", "reason is required (a few words)")
        return ""
    if not isinstance(raw, str):
        raise CoachError(422, "bad-body", "reason must be a string")
    reason = " ".join(raw.split())
    if len(reason) > MAX_REASON:
        raise CoachError(422, "bad-body", f"reason is longer than {MAX_REASON} characters")
    return reason


class AgentState:
    def __init__(
        self, twilio: TwilioCalls, queues: LiveQueues, audit: Audit, workspace_sid: str | None
    ) -> None:
        self.twilio, self.queues, self.audit = twilio, queues, audit
        self.workspace_sid = workspace_sid
        self._activities: tuple[float, list[Activity]] = (0.0, [])

    @property
    def enabled(self) -> bool:
        return bool(self.workspace_sid)

    def _workspace(self) -> str:
        if not self.workspace_sid:
            raise CoachError(409, "no-taskrouter", NO_TASKROUTER)
        return self.workspace_sid

    async def activities(self) -> list[Activity]:
        """The Workspace's activities (read at most once a minute: they rarely change)."""
        workspace = self._workspace()
        at, cached = self._activities
        if cached and time.monotonic() - at < ACTIVITIES_TTL_SECONDS:
            return cached
        found = await self.twilio.list_activities(workspace)
        listed = [Activity(str(a.sid), str(a.friendly_name), bool(a.available)) for a in found]
        self._activities = (time.monotonic(), listed)
        return listed

    async def _activity(self, name: str) -> Activity:
        for activity in await self.activities():
            if name in (activity.name, activity.sid):
                return activity
        known = ", ".join(a.name for a in await self.activities())
        raise CoachError(422, "bad-activity", f"no activity {name!r} in the Workspace ({known})")

    async def worker(self, agent: str) -> dict[str, Any]:
        """The agent's row (contract Agent) by roster id or worker SID."""
        for row in await self.queues.agents():
            if agent in (row["agent"], row["worker_sid"]):
                return row
        raise CoachError(404, "no-agent", f"no TaskRouter worker is agent {agent!r}")

    # -- an agent's activity ------------------------------------------------------------

    async def set_activity(
        self, supervisor: str, agent: str, activity_name: str, when: str, reason: str
    ) -> dict[str, Any]:
        workspace = self._workspace()
        if when not in (NOW, AFTER_CALL):
            raise CoachError(422, "bad-body", "when must be now or after-call")
        if not activity_name or len(activity_name) > MAX_ACTIVITY:
            raise CoachError(422, "bad-activity", f"an activity is 1..{MAX_ACTIVITY} characters")
        reason = clean_reason(reason, required=False)  # the API's and the dashboard's alike
        row = await self.worker(agent)
        activity = await self._activity(activity_name)
        if when == AFTER_CALL:
            change = PendingChange(
                activity.name, activity.sid, reason, supervisor, int(time.time() * 1000)
            )
            task = await self.queues.after_call.set(row["worker_sid"], change)
            if task is not None:
                await self._audit(
                    "agent-activity-after-call",
                    supervisor,
                    row,
                    outcome="pending",
                    detail=_detail(activity.name, reason, task),
                )
                return {
                    "agent": row["agent"],
                    "worker_sid": row["worker_sid"],
                    "activity": activity.name,
                    "when": AFTER_CALL,
                    "task_sid": task,
                    "reason": reason,
                }
            # No call to wait for: now (as a floor manager would expect).
        try:
            await self._update(workspace, row["worker_sid"], activity)
        except CoachError as exc:
            await self._audit(
                "agent-activity",
                supervisor,
                row,
                outcome="refused",
                detail=_detail(activity.name, reason) + f" — {exc.message}",
            )
            raise
        # A change waiting for the call is superseded by one made now.
        await self.queues.after_call.cancel(row["worker_sid"])
        await self._audit("agent-activity", supervisor, row, detail=_detail(activity.name, reason))
        return {
            "agent": row["agent"],
            "worker_sid": row["worker_sid"],
            "activity": activity.name,
            "when": NOW,
            "task_sid": None,
            "reason": reason,
        }

    async def _update(self, workspace: str, worker_sid: str, activity: Activity) -> None:
        params: dict[str, Any] = {"activity_sid": activity.sid}
        if not activity.available:
            params["reject_pending_reservations"] = True
        try:
            await self.twilio.update_worker(workspace, worker_sid, **params)
        except CoachError as exc:
            raise _refused(exc) from None

    async def cancel(self, supervisor: str, agent: str) -> bool:
        self._workspace()
        row = await self.worker(agent)
        change = await self.queues.after_call.cancel(row["worker_sid"])
        if change is not None:
            await self._audit(
                "agent-activity-canceled",
                supervisor,
                row,
                detail=_detail(change.activity, change.reason),
            )
        return change is not None

    async def after_event(self, event: TaskRouterEvent) -> None:
        """After a TaskRouter event is applied: the change it lets happen, made once."""
        if not self.workspace_sid:
            return
        change = await self.queues.after_call.claim_after(event)
        if change is None:
            return
        assert event.worker_sid is not None
        try:
            await self._claimed(event.worker_sid, change)
        except Exception:  # the event is applied whatever happens to the change
            log.warning("an after-call change of %s failed", event.worker_sid, exc_info=True)

    async def _claimed(self, worker_sid: str, change: PendingChange) -> None:
        row = {"agent": "", "worker_sid": worker_sid}
        try:
            row = await self.worker(worker_sid)
            activity = Activity(
                change.activity_sid,
                change.activity,
                (await self._activity(change.activity_sid)).available,
            )
            await self._update(self._workspace(), worker_sid, activity)
        except CoachError as exc:
            log.warning("an after-call change of %s failed: %s", worker_sid, exc.message)
            await self.queues.after_call.failed(worker_sid, f"{change.activity}: {exc.message}")
            await self._audit(
                "agent-activity-after-call",
                change.by,
                row,
                outcome="failed",
                detail=_detail(change.activity, change.reason) + f" — {exc.message}",
            )
            return
        await self._audit(
            "agent-activity-after-call",
            change.by,
            row,
            outcome="ok",
            detail=_detail(change.activity, change.reason),
        )

    # -- a stuck wrap-up ------------------------------------------------------------------

    async def complete_wrap_up(
        self, supervisor: str, agent: str, reason: str, task_sid: str | None
    ) -> dict[str, Any]:
        workspace = self._workspace()
        reason = clean_reason(reason, required=True)
        row = await self.worker(agent)
        held = row.get("task_sid")
        if not held:
            raise CoachError(409, "no-task", f"{row['name']} holds no task to complete")
        if task_sid is not None and task_sid != held:
            raise CoachError(409, "task-moved", f"{row['name']} now holds {held}, not {task_sid}")
        try:
            try:
                await self.twilio.update_task(
                    workspace, held, assignment_status="completed", reason=reason
                )
            except CoachError as exc:
                raise _refused(exc) from None
        except CoachError as exc:
            await self._audit(
                "complete-task",
                supervisor,
                row,
                outcome="refused",
                detail=f"{held}: {reason} — {exc.message}",
            )
            raise
        await self._audit("complete-task", supervisor, row, detail=f"{held}: {reason}")
        return {"agent": row["agent"], "task_sid": held, "status": "completed", "reason": reason}

    async def _audit(
        self,
        action: str,
        supervisor: str,
        row: dict[str, Any],
        *,
        outcome: str = "ok",
        detail: str = "",
    ) -> None:
        await self.audit.record(
            action,
            supervisor,
            row.get("conference_sid") or "",
            agent=row.get("agent") or row.get("worker_sid") or "",
            outcome=outcome,
            detail=detail,
        )


def _refused(exc: CoachError) -> CoachError:
    """TaskRouter's 400s here are refusals of the state (a pending reservation, a task not
    assigned): a conflict for the supervisor, in Twilio's words, not a fault of Twilio's."""
    if exc.status == 502 and exc.code in ("twilio-20001", "twilio-400"):
        return CoachError(409, exc.code, exc.message)
    return exc


def _detail(activity: str, reason: str, task: str | None = None) -> str:
    after = f" after {task}" if task else ""
    return f"{activity}{after}" + (f": {reason}" if reason else "")
