"""Live transcripts over HTTP (issue 15): Twilio's callbacks in, a call's lines out.

POST   /twilio/transcription-events                 Twilio's real-time transcription callbacks
GET    /api/conferences/{sid}/transcript            {"lines": [...], "transcript", "phrases"}
POST   /api/conferences/{sid}/transcript/pause      a supervisor pauses it (a payment)
DELETE /api/conferences/{sid}/transcript/pause      ... and resumes it
POST   /api/calls/{call_sid}/transcript/pause       the call's agent (softphone) or a supervisor
DELETE /api/calls/{call_sid}/transcript/pause
POST   /api/conferences/{sid}/phrases/mute          a supervisor silences the phrase alerts
"""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import Response

from access.policy import ACT, PAUSE_TRANSCRIPT, READ_TRANSCRIPT, own_call
from access.principal import AGENT, Principal
from callbacks import words
from callbacks.auth import authorize
from callbacks.context import Context
from callbacks.errors import ApiError, JSONResponse
from callbacks.webhooks import SignedRequest, SignedWebhook
from core import metrics
from live.events import BadEvent
from live.store import now_ms
from live.transcript_events import parse


async def transcription_event(request: SignedRequest) -> str:
    try:
        event = parse(request.params, now_ms())
    except BadEvent as exc:
        metrics.CALLBACKS.labels("transcription", "bad-callback").inc()
        raise ApiError(400, "bad-callback", str(exc)) from None
    started = time.perf_counter()
    done = await request.context.transcripts.ingest(event)
    metrics.APPLY_SECONDS.observe(time.perf_counter() - started)
    metrics.callback("transcription", done.outcome)
    return done.outcome


events = SignedWebhook(transcription_event)


async def transcript(request: Request) -> Response:
    """A call's words: for whoever may listen to it (a lead, their own teams' calls), audited."""
    who = await authorize(request, READ_TRANSCRIPT)
    ctx: Context = request.app.state.ctx
    sid = request.path_params["sid"]
    conference = await words.hearable(ctx, who, sid)
    await words.audit(ctx, who, "GET /api/conferences/{sid}/transcript", conference)
    lines = await ctx.transcripts.lines(sid)
    return JSONResponse(
        {
            "sid": sid,
            "lines": lines,
            "transcript": conference.get("transcript"),
            "phrases": conference.get("phrases") or [],
        }
    )


async def _pauser(request: Request) -> tuple[Principal, str]:
    """Who pauses, and the call or conference: an agent only its own call."""
    principal = await authorize(request, PAUSE_TRANSCRIPT)
    ctx: Context = request.app.state.ctx
    target = request.path_params.get("call_sid") or request.path_params["sid"]
    if principal.kind == AGENT:
        if not target.startswith("CA"):
            raise ApiError(403, "forbidden", "an agent pauses its own call: /api/calls/{call_sid}")
        found = await ctx.floor.call(target)
        if found is not None:
            own_call(principal, found.get("label"))
    assert principal.ident is not None
    who = f"agent:{principal.ident}" if principal.kind == AGENT else principal.ident
    return principal, who


async def pause(request: Request) -> Response:
    _, who = await _pauser(request)
    ctx: Context = request.app.state.ctx
    target = request.path_params.get("call_sid") or request.path_params["sid"]
    return JSONResponse(await ctx.transcription.pause(target, who))


async def resume(request: Request) -> Response:
    _, who = await _pauser(request)
    ctx: Context = request.app.state.ctx
    target = request.path_params.get("call_sid") or request.path_params["sid"]
    return JSONResponse(await ctx.transcription.resume(target, who))


async def mute_phrases(request: Request) -> Response:
    principal = await authorize(request, ACT)
    ctx: Context = request.app.state.ctx
    assert principal.ident is not None
    return JSONResponse(await ctx.transcription.mute(request.path_params["sid"], principal.ident))
