"""TaskRouter v1's REST paths that Earpiece reads, as the twilio SDK calls them.

`client.taskrouter.v1.workspaces.list()`: the account's Workspaces;
`client.taskrouter.v1.workspaces(WS)`: the Workspace, its Activities (one deleted too),
TaskQueues with their RealTimeStatistics and CumulativeStatistics, Workers
and Tasks; the Workspace's update (its EventCallbackUrl); a Worker's update (its
Activity, rejecting its pending reservations) and a Task's (completed, wrapping or
canceled with a Reason), with TaskRouter's refusals (twilio_sim/taskrouter/workspace.py). JSON as in
Twilio's OpenAPI file for TaskRouter; lists carry TaskRouter's `meta` block, and
the Task and Worker lists answer `attributes` null as Twilio's do (a fetch has them).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from twilio_sim.engine import Engine, SimError
from twilio_sim.rest import check_credentials, error, paging, read_form
from twilio_sim.rest import twilio_json as json_response
from twilio_sim.taskrouter.model import (
    ASSIGNED,
    BASE,
    CANCELED,
    COMPLETED,
    LIVE,
    PENDING,
    RESERVED,
    WRAPPING,
    iso,
)
from twilio_sim.taskrouter.workspace import Workspace

PREFIX = "/v1/Workspaces/{WorkspaceSid}"

Handler = Callable[[Request, Workspace], Any]


def endpoint(handler: Handler) -> Callable[[Request], Any]:
    async def run(request: Request) -> Response:
        engine: Engine = request.app.state.engine
        workspace: Workspace | None = getattr(request.app.state, "workspace", None)
        try:
            check_credentials(request, engine)
            wanted = request.path_params.get("WorkspaceSid", request.path_params.get("Sid"))
            if workspace is None or wanted != workspace.sid:
                raise SimError(
                    404, 20404, f"The requested resource /Workspaces/{wanted} was not found"
                )
            result: Response = await handler(request, workspace)
            return result
        except SimError as exc:
            return error(exc)

    return run


def _page(request: Request, key: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    size, page, filters = paging(request)
    start = page * size
    base = "https://taskrouter.twilio.com" + request.url.path

    def url(n: int) -> str:
        return f"{base}?{urlencode([*filters, ('PageSize', size), ('Page', n)])}"

    more = start + size < len(items)
    return {
        key: items[start : start + size],
        "meta": {
            "first_page_url": url(0),
            "key": key,
            "page": page,
            "page_size": size,
            "next_page_url": url(page + 1) + f"&PageToken=PT{page + 1}" if more else None,
            "previous_page_url": url(page - 1) if page > 0 else None,
            "url": url(page),
        },
    }


def _workspace_json(ws: Workspace) -> dict[str, Any]:
    url = f"{BASE}/Workspaces/{ws.sid}"
    available = ws.activities["Available"]
    offline = ws.activities["Offline"]
    return {
        "account_sid": ws.account,
        "date_created": iso(ws.created),
        "date_updated": iso(time.time()),
        "default_activity_name": offline.name,
        "default_activity_sid": offline.sid,
        "event_callback_url": ws.config.event_callback_url,
        "events_filter": None,
        "friendly_name": ws.config.name,
        "multi_task_enabled": False,
        "sid": ws.sid,
        "timeout_activity_name": available.name,
        "timeout_activity_sid": available.sid,
        "prioritize_queue_order": "FIFO",
        "url": url,
        "links": {
            name: f"{url}/{path}"
            for name, path in (
                ("activities", "Activities"),
                ("statistics", "Statistics"),
                ("real_time_statistics", "RealTimeStatistics"),
                ("cumulative_statistics", "CumulativeStatistics"),
                ("task_queues", "TaskQueues"),
                ("tasks", "Tasks"),
                ("workers", "Workers"),
                ("workflows", "Workflows"),
                ("task_channels", "TaskChannels"),
                ("events", "Events"),
            )
        },
    }


async def workspaces(request: Request) -> Response:
    """`GET /v1/Workspaces`: the account's Workspaces (the simulator has at most one)."""
    engine: Engine = request.app.state.engine
    ws: Workspace | None = getattr(request.app.state, "workspace", None)
    try:
        check_credentials(request, engine)
        name = request.query_params.get("FriendlyName")
        found = [ws] if ws is not None and (not name or name == ws.config.name) else []
        return json_response(_page(request, "workspaces", [_workspace_json(w) for w in found]))
    except SimError as exc:
        return error(exc)


async def workspace(request: Request, ws: Workspace) -> Response:
    if request.method == "POST":
        form = (await read_form(request)).single
        if "EventCallbackUrl" in form:
            ws.config.event_callback_url = form["EventCallbackUrl"] or None
    return json_response(_workspace_json(ws))


async def activities(request: Request, ws: Workspace) -> Response:
    items = [a.json(ws.account, ws.sid) for a in ws.activities.values()]
    return json_response(_page(request, "activities", items))


async def activity(request: Request, ws: Workspace) -> Response:
    """An Activity's fetch, or its deletion (what an administrator does in the Console while
    a supervisor's page still offers it: the Agents page's refusal test)."""
    found = ws.activity_by_sid(request.path_params["Sid"])
    if request.method == "DELETE":
        ws.delete_activity(found.sid)
        return Response(status_code=204)
    return json_response(found.json(ws.account, ws.sid))


async def task_queues(request: Request, ws: Workspace) -> Response:
    name = request.query_params.get("FriendlyName")
    found = [q for q in ws.queues.values() if not name or q.name == name]
    return json_response(_page(request, "task_queues", [q.json(ws.account, ws.sid) for q in found]))


def _queue(request: Request, ws: Workspace) -> Any:
    sid = request.path_params.get("TaskQueueSid") or request.path_params["Sid"]
    if sid not in ws.queues:
        raise SimError(404, 20404, f"The requested resource /TaskQueues/{sid} was not found")
    return ws.queues[sid]


async def task_queue(request: Request, ws: Workspace) -> Response:
    return json_response(_queue(request, ws).json(ws.account, ws.sid))


async def real_time_statistics(request: Request, ws: Workspace) -> Response:
    """What waits in the queue now, and its workers by activity (TaskRouter's real-time view)."""
    queue = _queue(request, ws)
    now = time.time()
    tasks = [t for t in ws.tasks.values() if t.queue.sid == queue.sid and t.status in LIVE]
    by_status = {
        s: sum(1 for t in tasks if t.status == s) for s in (PENDING, RESERVED, ASSIGNED, WRAPPING)
    }
    waiting = [t for t in tasks if t.status in (PENDING, RESERVED)]
    oldest = min(waiting, key=lambda t: t.created, default=None)
    oldest_in_queue = min(waiting, key=lambda t: t.entered, default=None)
    eligible = [w for w in ws.workers.values() if queue.sid in w.queues]
    url = f"{BASE}/Workspaces/{ws.sid}/TaskQueues/{queue.sid}/RealTimeStatistics"
    return json_response(
        {
            "account_sid": ws.account,
            "activity_statistics": [
                {
                    "sid": a.sid,
                    "friendly_name": a.name,
                    "workers": sum(1 for w in eligible if w.activity is a),
                }
                for a in ws.activities.values()
            ],
            "longest_task_waiting_age": int(now - oldest.created) if oldest else 0,
            "longest_task_waiting_sid": oldest.sid if oldest else None,
            "longest_relative_task_age_in_queue": int(now - oldest_in_queue.entered)
            if oldest_in_queue
            else 0,
            "longest_relative_task_sid_in_queue": oldest_in_queue.sid if oldest_in_queue else None,
            "task_queue_sid": queue.sid,
            "tasks_by_priority": {
                str(p): sum(1 for t in tasks if t.priority == p)
                for p in sorted({t.priority for t in tasks})
            },
            "tasks_by_status": by_status,
            "total_available_workers": sum(1 for w in eligible if w.activity.available),
            "total_eligible_workers": len(eligible),
            "total_tasks": len(tasks),
            "workspace_sid": ws.sid,
            "url": url,
        }
    )


def _date(raw: str | None, default: float) -> float:
    if not raw:
        return default
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise SimError(400, 20001, f"{raw!r} is not an ISO 8601 date") from None


def _durations(values: list[float]) -> dict[str, int]:
    if not values:
        return {"avg": 0, "min": 0, "max": 0, "total": 0}
    return {
        "avg": round(sum(values) / len(values)),
        "min": round(min(values)),
        "max": round(max(values)),
        "total": round(sum(values)),
    }


async def cumulative_statistics(request: Request, ws: Workspace) -> Response:
    """Counts of the tasks that entered the queue between StartDate and EndDate."""
    queue = _queue(request, ws)
    now = time.time()
    query = request.query_params
    minutes = query.get("Minutes")
    start = now - float(minutes) * 60 if minutes else _date(query.get("StartDate"), now - 900)
    end = _date(query.get("EndDate"), now)
    tasks = [t for t in ws.tasks.values() if t.queue.sid == queue.sid and start <= t.entered <= end]
    accepted = [t for t in tasks if t.accepted is not None]
    canceled = [t for t in tasks if t.status == CANCELED]
    waits = [(t.accepted or 0) - t.entered for t in accepted]
    url = f"{BASE}/Workspaces/{ws.sid}/TaskQueues/{queue.sid}/CumulativeStatistics"
    reservations = [r for r in ws.reservations.values() if r.task in {t.sid for t in tasks}]
    split: dict[str, Any] | None = None
    if query.get("SplitByWaitTime"):
        split = {}
        for raw in query["SplitByWaitTime"].split(","):
            limit = int(raw)
            split[raw] = {
                "above": {
                    "tasks_accepted": sum(1 for w in waits if w > limit),
                    "tasks_canceled": sum(1 for t in canceled if t.updated - t.entered > limit),
                },
                "below": {
                    "tasks_accepted": sum(1 for w in waits if w <= limit),
                    "tasks_canceled": sum(1 for t in canceled if t.updated - t.entered <= limit),
                },
            }
    return json_response(
        {
            "account_sid": ws.account,
            "avg_task_acceptance_time": round(sum(waits) / len(waits)) if waits else 0,
            "start_time": iso(start),
            "end_time": iso(end),
            "reservations_created": len(reservations),
            "reservations_accepted": sum(
                1 for r in reservations if r.status in ("accepted", "wrapping", "completed")
            ),
            "reservations_rejected": 0,
            "reservations_timed_out": 0,
            "reservations_canceled": sum(1 for r in reservations if r.status == "canceled"),
            "reservations_rescinded": 0,
            "split_by_wait_time": split,
            "task_queue_sid": queue.sid,
            "wait_duration_until_accepted": _durations(waits),
            "wait_duration_until_canceled": _durations([t.updated - t.entered for t in canceled]),
            "wait_duration_in_queue_until_accepted": _durations(waits),
            "tasks_canceled": len(canceled),
            "tasks_completed": sum(1 for t in tasks if t.status == COMPLETED),
            "tasks_deleted": 0,
            "tasks_entered": len(tasks),
            "tasks_moved": 0,
            "workspace_sid": ws.sid,
            "url": url,
        }
    )


async def workers(request: Request, ws: Workspace) -> Response:
    query = request.query_params
    found = list(ws.workers.values())
    if query.get("ActivityName"):
        found = [w for w in found if w.activity.name == query["ActivityName"]]
    if query.get("TaskQueueSid"):
        found = [w for w in found if query["TaskQueueSid"] in w.queues]
    # Lists answer `attributes` null; a fetch has them (twilio_sim/taskrouter/model.py).
    items = [w.json(ws.account, ws.sid, listed=True) for w in found]
    return json_response(_page(request, "workers", items))


def _bool(form: dict[str, str], name: str) -> bool:
    raw = form.get(name, "false").lower()
    if raw not in ("true", "false"):
        raise SimError(400, 20001, f"{name} must be true or false")
    return raw == "true"


async def worker(request: Request, ws: Workspace) -> Response:
    """A Worker's fetch, or its update (ActivitySid, RejectPendingReservations: the rules are
    Workspace.update_worker's)."""
    sid = request.path_params["Sid"]
    if sid not in ws.workers:
        raise SimError(404, 20404, f"The requested resource /Workers/{sid} was not found")
    found = ws.workers[sid]
    if request.method == "POST":
        form = (await read_form(request)).single
        reject = _bool(form, "RejectPendingReservations")
        if form.get("ActivitySid"):
            ws.update_worker(found, ws.activity_by_sid(form["ActivitySid"]), reject_pending=reject)
        elif reject:
            raise SimError(400, 20001, "RejectPendingReservations needs an ActivitySid")
    return json_response(found.json(ws.account, ws.sid))


async def tasks(request: Request, ws: Workspace) -> Response:
    query = request.query_params
    statuses = [s for v in query.getlist("AssignmentStatus") for s in v.split(",") if s]
    found = sorted(ws.tasks.values(), key=lambda t: t.created)
    if statuses:
        found = [t for t in found if t.status in statuses]
    if query.get("TaskQueueSid"):
        found = [t for t in found if t.queue.sid == query["TaskQueueSid"]]
    items = [t.json(ws.account, ws.sid, ws.workflow_name, listed=True) for t in found]
    return json_response(_page(request, "tasks", items))


async def task(request: Request, ws: Workspace) -> Response:
    """A Task's fetch, or its update (AssignmentStatus with Reason: Workspace.update_task)."""
    found = ws.task(request.path_params["Sid"])
    if request.method == "POST":
        form = (await read_form(request)).single
        ws.update_task(found, form.get("AssignmentStatus") or None, form.get("Reason") or None)
    return json_response(found.json(ws.account, ws.sid, ws.workflow_name))


async def task_reservations(request: Request, ws: Workspace) -> Response:
    task = ws.task(request.path_params["TaskSid"])
    wanted = request.query_params.get("ReservationStatus")
    found = [
        r
        for r in ws.reservations.values()
        if r.task == task.sid and (not wanted or r.status == wanted)
    ]
    items = [r.json(ws.account, ws.sid, ws.workers[r.worker].name) for r in found]
    return json_response(_page(request, "reservations", items))


def routes() -> list[Route]:
    return [
        Route("/v1/Workspaces", workspaces, methods=["GET"]),
        Route("/v1/Workspaces/{Sid}", endpoint(workspace), methods=["GET", "POST"]),
        Route(f"{PREFIX}/Activities", endpoint(activities), methods=["GET"]),
        Route(f"{PREFIX}/Activities/{{Sid}}", endpoint(activity), methods=["GET", "DELETE"]),
        Route(f"{PREFIX}/TaskQueues", endpoint(task_queues), methods=["GET"]),
        Route(f"{PREFIX}/TaskQueues/{{Sid}}", endpoint(task_queue), methods=["GET"]),
        Route(
            f"{PREFIX}/TaskQueues/{{TaskQueueSid}}/RealTimeStatistics",
            endpoint(real_time_statistics),
            methods=["GET"],
        ),
        Route(
            f"{PREFIX}/TaskQueues/{{TaskQueueSid}}/CumulativeStatistics",
            endpoint(cumulative_statistics),
            methods=["GET"],
        ),
        Route(f"{PREFIX}/Workers", endpoint(workers), methods=["GET"]),
        Route(f"{PREFIX}/Workers/{{Sid}}", endpoint(worker), methods=["GET", "POST"]),
        Route(f"{PREFIX}/Tasks", endpoint(tasks), methods=["GET"]),
        Route(f"{PREFIX}/Tasks/{{Sid}}", endpoint(task), methods=["GET", "POST"]),
        Route(
            f"{PREFIX}/Tasks/{{TaskSid}}/Reservations", endpoint(task_reservations), methods=["GET"]
        ),
    ]
