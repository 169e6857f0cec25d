"""The JSON API's read side and the health check."""

from __future__ import annotations

import asyncio
import time

from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.responses import Response

from access.policy import FIND_CALL, READ_FLOOR, own_call, sees_full_numbers, words_scope
from access.principal import AGENT, Principal
from callbacks import words
from callbacks.auth import authorize
from callbacks.context import Context
from callbacks.errors import ApiError, JSONResponse
from core import metrics
from live import attention, privacy
from live import words as live_words

HEALTH_TIMEOUT_SECONDS = 1.0


def full_numbers(ctx: Context, principal: Principal) -> bool:
    return sees_full_numbers(principal, ctx.roster.full_number_roles)


async def list_conferences(request: Request) -> Response:
    principal = await authorize(request, READ_FLOOR)
    ctx: Context = request.app.state.ctx
    order = request.query_params.get("order", "started")
    if order not in ("started", "attention"):
        raise ApiError(422, "bad-order", "order must be started or attention")
    conferences = privacy.for_reader(
        await ctx.floor.conferences(), full_numbers(ctx, principal), ctx.settings.country
    )
    # The words (`transcript.last`, phrase alerts) only of calls the reader may listen to.
    scope = words_scope(principal)
    conferences = live_words.all_for_scope(conferences, scope)
    if order == "attention":
        conferences = attention.order(conferences, time.time())
    if any(live_words.has_words(c) for c in conferences):
        await words.audit(ctx, principal, "GET /api/conferences", scope=scope)
    return JSONResponse({"conferences": conferences})


async def prometheus(request: Request) -> Response:
    """Prometheus text format; open like /healthz (counts only, no call data)."""
    return Response(metrics.render(), media_type=metrics.CONTENT_TYPE)


async def get_conference(request: Request) -> Response:
    principal = await authorize(request, READ_FLOOR)
    ctx: Context = request.app.state.ctx
    sid = request.path_params["sid"]
    conference = await ctx.floor.conference(sid)
    if conference is None:
        raise ApiError(404, "unknown-conference", f"no conference {sid}")
    if not full_numbers(ctx, principal):
        conference = privacy.masked(conference, ctx.settings.country)
    conference = live_words.for_scope(conference, words_scope(principal))
    if live_words.has_words(conference):
        await words.audit(ctx, principal, "GET /api/conferences/{sid}", conference)
    return JSONResponse(conference)


async def get_call(request: Request) -> Response:
    """Where a call is. `?wait=N` waits up to N seconds for its join callback (FIELD-NOTES 3).
    An agent's softphone may ask only about its own legs."""
    principal = await authorize(request, FIND_CALL)
    ctx: Context = request.app.state.ctx
    call_sid = request.path_params["call_sid"]
    raw_wait = request.query_params.get("wait", "0")
    try:
        wait = float(raw_wait)
    except ValueError:
        raise ApiError(
            422, "bad-wait", f"wait must be a number of seconds, got {raw_wait!r}"
        ) from None
    if not 0 <= wait <= ctx.settings.call_wait_max_seconds:
        raise ApiError(
            422, "bad-wait", f"wait must be between 0 and {ctx.settings.call_wait_max_seconds:g}"
        )
    deadline = time.monotonic() + wait
    while True:
        found = await ctx.floor.call(call_sid)
        if found is not None:
            if principal.kind == AGENT:
                own_call(principal, found.get("label"))
            return JSONResponse(found)
        left = deadline - time.monotonic()
        if left <= 0:
            raise ApiError(404, "unknown-call", f"call {call_sid} is not in a live conference")
        await ctx.hub.wait_for_change(left)


async def healthz(request: Request) -> Response:
    """ok or unavailable, nothing more: it is open to anyone, so it names no address."""
    ctx: Context = request.app.state.ctx
    try:
        await asyncio.wait_for(ctx.floor.ping(), HEALTH_TIMEOUT_SECONDS)
    except (RedisError, OSError, TimeoutError):
        return JSONResponse({"redis": "unavailable"}, 503)
    return JSONResponse({"redis": "ok"})
