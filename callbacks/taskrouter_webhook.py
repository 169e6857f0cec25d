"""`POST /twilio/taskrouter-events`: the Workspace's Event Callback URL (issue 12).

Signed like every Twilio webhook (the same SignedWebhook: one HMAC, the
body read straight from ASGI), and applied in one Redis round trip shared
with the other events in flight (live/taskrouter.lua through
live/batching.py), as the conference callbacks are. An event of another
Workspace than TWILIO_WORKSPACE_SID, or of a type the floor has no use for,
is answered 204 and changes nothing. Every 204 here carries Content-Type
application/json, as TaskRouter's Events reference asks.
"""

from __future__ import annotations

from callbacks.errors import ApiError
from callbacks.webhooks import SignedRequest, SignedWebhook
from core import metrics
from live.events import BadEvent
from live.store import now_ms
from live.taskrouter_events import KNOWN, parse_taskrouter_event


async def taskrouter_event(request: SignedRequest) -> str:
    ctx = request.context
    try:
        event = parse_taskrouter_event(request.params, now_ms())
    except BadEvent as exc:
        metrics.callback("taskrouter", "bad-callback")
        raise ApiError(400, "bad-callback", str(exc)) from None
    workspace = ctx.settings.workspace_sid
    if workspace and event.workspace_sid != workspace:
        outcome = "other-workspace"
    else:
        # A reservation.accepted also labels its conference's legs, in the same call.
        outcome, sid, newly = await ctx.queues.apply_and_link(event)
        for _, label in newly:
            if sid and label.startswith("agent:"):
                ctx.coach.agent_identified(sid, label.removeprefix("agent:"))
        # Each team's time in each activity, on a call and in wrap-up (live/team_time.py):
        # from the signed events only, which say how long (a repair's do not).
        await ctx.queues.team_time.record(event)
    # Label by event type only when it is one we know: a label per unknown string would
    # let a caller grow the metrics without bound.
    metrics.callback(event.kind if event.kind in KNOWN else "taskrouter-other", outcome)
    return outcome


# "Your application should respond to Event Callbacks with 204 No Content and a
# Content-Type header of application/json within 15 seconds."
# (https://www.twilio.com/docs/taskrouter/api/event/reference)
taskrouter_events = SignedWebhook(taskrouter_event, no_content_type="application/json")
