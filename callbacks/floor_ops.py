"""Running the floor from the JSON API (issue 27): agents' activities, stuck wrap-ups, a call.

GET    /api/activities                              {"taskrouter": bool, "activities": [...]}
PUT    /api/agents/{agent}/activity                 {"activity", "when": "now"|"after-call",
                                                     "reason"?}: set it now or after the call
DELETE /api/agents/{agent}/activity/pending         cancel a change waiting for the call
POST   /api/agents/{agent}/wrap-up/complete         {"reason", "task_sid"?}: complete the task
                                                     the agent holds (a stuck wrap-up)
POST   /api/conferences/{sid}/end                   {"confirm": true}: end the call for all
DELETE /api/conferences/{sid}/participants/{call_sid}  remove one leg

`{agent}` is the roster's agent id, or the Worker's SID for a worker on no team. Who may:
the agent's (the call's) team's lead and managers (access/policy.py `may_run`), checked
before anything else is looked at; the actions are coach/agent_state.py's and
coach/call_control.py's, audited there. On a floor without TaskRouter the agent
endpoints answer 409 `no-taskrouter` and say so.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from access.policy import READ_FLOOR, RUN_FLOOR, Denied, may_run
from access.principal import Principal
from callbacks.auth import authorize
from callbacks.context import Context
from callbacks.errors import ApiError, JSONResponse
from callbacks.monitors import json_object, text_field
from coach.agent_state import AgentState, clean_reason
from coach.call_control import CallControl
from live.events import is_sid


def _ctx(request: Request) -> tuple[Context, AgentState, CallControl]:
    ctx: Context = request.app.state.ctx
    assert ctx.agent_state is not None and ctx.call_control is not None
    return ctx, ctx.agent_state, ctx.call_control


def _who(principal: Principal, team: str | None, what: str) -> str:
    try:
        return may_run(principal, team, what)
    except Denied as exc:
        raise ApiError(403, "forbidden", str(exc)) from None


async def _agent_team(request: Request, principal: Principal) -> tuple[str, str]:
    """(the agent or worker named in the path, the supervisor who may act on them)."""
    ctx, state, _ = _ctx(request)
    agent = request.path_params["agent"]
    if len(agent) > 128:
        raise ApiError(422, "bad-agent", "an agent id is at most 128 characters")
    team = ctx.roster.team_for(agent)
    if team is None and is_sid(agent, "WK") and state.enabled:
        row = await state.worker(agent)
        team = ctx.roster.team_for(row.get("agent"))
    return agent, _who(principal, team.name if team else None, f"agent {agent}")


def _text(body: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    if body.get(name) is None and not required:
        return None
    return text_field(body, name)


async def activities(request: Request) -> Response:
    await authorize(request, READ_FLOOR)
    _, state, _ = _ctx(request)
    if not state.enabled:
        return JSONResponse({"taskrouter": False, "activities": []})
    return JSONResponse(
        {"taskrouter": True, "activities": [a.json() for a in await state.activities()]}
    )


async def set_activity(request: Request) -> Response:
    principal = await authorize(request, RUN_FLOOR)
    agent, supervisor = await _agent_team(request, principal)
    body = await json_object(request)
    _, state, _ = _ctx(request)
    activity = _text(body, "activity")
    when = body.get("when", "now")
    if when not in ("now", "after-call"):
        raise ApiError(422, "bad-body", "when must be now or after-call")
    reason = clean_reason(body.get("reason"), required=False)
    assert activity is not None
    done = await state.set_activity(supervisor, agent, activity, when, reason)
    return JSONResponse(done, 202 if done["when"] == "after-call" else 200)


async def cancel_pending(request: Request) -> Response:
    principal = await authorize(request, RUN_FLOOR)
    agent, supervisor = await _agent_team(request, principal)
    _, state, _ = _ctx(request)
    if not await state.cancel(supervisor, agent):
        raise ApiError(404, "nothing-pending", f"no change is waiting for {agent}'s call")
    return Response(status_code=204)


async def complete_wrap_up(request: Request) -> Response:
    principal = await authorize(request, RUN_FLOOR)
    agent, supervisor = await _agent_team(request, principal)
    body = await json_object(request)
    _, state, _ = _ctx(request)
    reason = clean_reason(body.get("reason"), required=True)
    task_sid = _text(body, "task_sid", required=False)
    if task_sid is not None and not is_sid(task_sid, "WT"):
        raise ApiError(422, "bad-body", "task_sid must be a Task SID (WT…)")
    done = await state.complete_wrap_up(supervisor, agent, reason, task_sid)
    return JSONResponse(done)


async def _call_team(request: Request, principal: Principal) -> tuple[str, str]:
    _, _, control = _ctx(request)
    sid = request.path_params["sid"]
    if not is_sid(sid, "CF"):
        raise ApiError(404, "unknown-conference", f"no conference {sid[:40]}")
    conference = await control.live_call(sid)
    return sid, _who(principal, conference.get("team"), f"this call ({sid})")


async def end_call(request: Request) -> Response:
    principal = await authorize(request, RUN_FLOOR)
    sid, supervisor = await _call_team(request, principal)
    body = await json_object(request)
    if body.get("confirm") is not True:
        raise ApiError(
            422, "not-confirmed", 'ending a call for everyone on it needs {"confirm": true}'
        )
    _, _, control = _ctx(request)
    return JSONResponse(await control.end_call(supervisor, sid), 202)


async def remove_leg(request: Request) -> Response:
    principal = await authorize(request, RUN_FLOOR)
    sid, supervisor = await _call_team(request, principal)
    call_sid = request.path_params["call_sid"]
    if not is_sid(call_sid, "CA"):
        raise ApiError(404, "unknown-leg", f"no leg {call_sid[:40]}")
    _, _, control = _ctx(request)
    return JSONResponse(await control.remove_leg(supervisor, sid, call_sid), 202)
