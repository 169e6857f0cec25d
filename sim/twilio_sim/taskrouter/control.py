"""Control endpoints for the simulated Workspace (no auth; local use), as in CONTRACT.md:

POST /sim/calls                     {"queue": "sales", "customer"?} -> a caller waiting
                                    in that TaskQueue (its task and call)
POST /sim/tasks/{sid}/actions       {"action": "abandon"}: the caller hangs up waiting
                                    {"action": "hangup"}: the accepted call ends
POST /sim/workers/{agent}/activity  {"activity": "Break"}
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from twilio_sim.control_http import _body, _guard, _json
from twilio_sim.engine import Engine, SimError
from twilio_sim.taskrouter.workspace import Workspace
from twilio_sim.traffic import customer_number

TASK_ACTIONS = ("abandon", "hangup")


def workspace_of(request: Request) -> Workspace:
    workspace: Workspace | None = getattr(request.app.state, "workspace", None)
    if workspace is None:
        raise SimError(400, 20001, "this simulator has no TaskRouter Workspace (--taskrouter)")
    return workspace


async def enqueue(request: Request, body: dict[str, Any], engine: Engine) -> Response:
    queue = body.get("queue")
    if not isinstance(queue, str) or not queue:
        raise SimError(400, 20001, "queue must name a TaskQueue")
    caller = str(body.get("customer") or customer_number(engine.rng))
    task = workspace_of(request).enqueue(queue, caller)
    return _json(
        {
            "task_sid": task.sid,
            "queue_sid": task.queue.sid,
            "customer_call_sid": task.attributes["call_sid"],
        },
        201,
    )


async def task_action(request: Request, engine: Engine) -> Response:
    body = await _body(request)
    workspace = workspace_of(request)
    name = body.get("action")
    if name not in TASK_ACTIONS:
        raise SimError(400, 20001, f"action must be one of {', '.join(TASK_ACTIONS)}")
    sid = request.path_params["sid"]
    if name == "abandon":
        task = workspace.abandon(sid)
    else:
        task = workspace.task(sid)
        conference = engine.live_conference_named(task.sid)
        if conference is None:
            raise SimError(400, 20001, f"task {sid} has no live conference")
        engine.hang_up(conference, task.attributes["call_sid"])
    return _json({"task_sid": task.sid, "status": task.status})


async def worker_activity(request: Request, engine: Engine) -> Response:
    body = await _body(request)
    activity = body.get("activity")
    if not isinstance(activity, str):
        raise SimError(400, 20001, "activity must name an Activity")
    worker = workspace_of(request).set_activity(request.path_params["agent"], activity)
    return _json({"worker_sid": worker.sid, "activity": worker.activity.name})


def routes() -> list[Route]:
    return [
        Route("/sim/tasks/{sid}/actions", _guard(task_action), methods=["POST"]),
        Route("/sim/workers/{agent}/activity", _guard(worker_activity), methods=["POST"]),
    ]
